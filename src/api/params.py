"""Query parameter types shared by routes.

``EventTime``: an ISO 8601 date-time as the OpenAPI document says (a bare number, which pydantic would
read as Unix seconds, is refused), naive read as UTC, and within what every store can hold (ClickHouse's
DateTime64: 1900 to 2299): outside it, a 422 naming the parameter instead of a failed query.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2299, 12, 31, tzinfo=UTC)
_NUMBER = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")


def _not_a_number(value: Any) -> Any:
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.match(value)):
        raise ValueError("expected an ISO 8601 date-time such as 2026-12-03T09:00:00Z, not a number")
    return value


def _in_range(value: datetime) -> datetime:
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    if not EARLIEST <= aware <= LATEST:
        raise ValueError(f"date-time outside {EARLIEST.year}-{LATEST.year}")
    return aware


EventTime = Annotated[datetime, BeforeValidator(_not_a_number), AfterValidator(_in_range)]
