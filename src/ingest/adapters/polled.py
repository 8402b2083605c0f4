"""What every adapter of a polled platform API (X, Reddit, YouTube, Weibo) shares: the connector config's
common fields, what one page of an answer became, and the per-item loop.

An adapter is pure: ``events_from_page(page_json, config, received_at)`` turns one parsed JSON answer into
a ``PageResult`` and never reads the clock, the network or the disk (``ingest.polling`` does). A page
that is not the platform's answer at all (not an object, the list of items missing or not a list) raises
``InvalidEvent``: the poller dead-letters it and keeps its cursor. An item that cannot become an event
(no id, no author) comes back in ``PageResult.invalid`` with its JSON bytes, and the rest of the page goes
on; an item deliberately not turned into an event (a deleted author, a removed comment) is listed in
``PageResult.skipped`` with the reason: never silent.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ingest.adapters.base import InvalidItem, Skipped
from ingest.contracts import SocialEvent
from ingest.exceptions import InvalidEvent

FIFTEEN_MINUTES = 15 * 60
"""The window of ``PollConfig.requests_per_15min`` (X counts its limits per 15 minutes)."""


class PollConfig(BaseModel):
    """The fields every poll connector has; each platform's config adds its credentials and endpoints.

    Frozen; secrets are ``SecretStr`` in the subclasses and never appear in ``repr`` or logs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=128)
    """The connector's name (the key in the connectors file); written to ``SocialEvent.source`` and naming
    its stored cursors."""
    brand: str | None = Field(default=None, max_length=256)
    base_url: str = Field(min_length=1)
    """The API's root, overridable so tests and demos point the poller at a local stand-in."""
    requests_per_15min: int = Field(default=180, ge=1, le=100_000)
    """The connector's own request budget: at most this many requests in any 15 minutes (the poller waits
    for the window to free a slot). Set it at or below the platform's quota for the credentials."""
    interval_seconds: float = Field(default=300.0, gt=0)
    """How long a long-running poller waits between drains (``--once`` ignores it)."""


@dataclass(frozen=True, slots=True)
class PageResult:
    """What one page of a polled API became, in the platform's order (newest first on every supported API).

    ``next_page`` is the platform's token or anchor for the next (older) page of the same listing, ``None``
    when this page is the last; ``newest`` is the newest position the page shows (an id, a fullname, a
    timestamp; the platform's adapter says which), which the poller keeps as its watermark once the whole
    drain is durable."""

    events: tuple[SocialEvent, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    invalid: tuple[InvalidItem, ...] = ()
    next_page: str | None = None
    newest: str | None = None


def read_items(
    items: Sequence[Any], where: str, one: Callable[[Any, str], SocialEvent | Skipped | Sequence[SocialEvent | Skipped]]
) -> tuple[tuple[SocialEvent, ...], tuple[Skipped, ...], tuple[InvalidItem, ...]]:
    """Apply ``one(item, "<where>[n]")`` to every item: its events and skips in order; an item for which it
    raises ``InvalidEvent`` is returned as an ``InvalidItem`` (its JSON bytes) and the loop goes on."""
    events: list[SocialEvent] = []
    skipped: list[Skipped] = []
    invalid: list[InvalidItem] = []
    for n, item in enumerate(items):
        try:
            outcome = one(item, f"{where}[{n}]")
        except InvalidEvent as exc:
            invalid.append(InvalidItem(json.dumps(item, ensure_ascii=False, default=str).encode("utf-8"), exc))
            continue
        for part in outcome if isinstance(outcome, Sequence) else (outcome,):
            if isinstance(part, Skipped):
                skipped.append(part)
            else:
                events.append(part)
    return tuple(events), tuple(skipped), tuple(invalid)


def count(value: Any) -> int:
    """A non-negative JSON integer as is, anything else (absent, negative, a string) 0."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def required_object(value: Any, where: str) -> dict[str, Any]:
    """``value`` if it is a JSON object; raises ``InvalidEvent(where, ...)`` otherwise."""
    if not isinstance(value, dict):
        raise InvalidEvent(where, f"expected a JSON object, got {type(value).__name__}")
    return value
