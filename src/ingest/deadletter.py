"""The ``DeadLetter`` contract (schema version 1): input that could not be processed, kept whole.

Published to ``scrm.deadletter`` (Kafka runtime) or stored in the dead-letter table (embedded runtime).
``original`` is the exact bytes received (base64 in JSON), so a fixed consumer can replay it. A webhook
delivery keeps the request headers that matter beside it (``headers``: the adapter's chosen few, never a
secret).
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer


def _from_base64(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except binascii.Error as exc:
            raise ValueError(f"not standard base64: {exc}") from exc
    return value


Base64Bytes = Annotated[
    bytes,
    BeforeValidator(_from_base64),
    PlainSerializer(lambda value: base64.b64encode(value).decode("ascii"), when_used="json"),
]
"""Bytes that travel in JSON as standard (RFC 4648 section 4, padded) base64, as ``base64 -d`` reads."""


class DeadLetter(BaseModel):
    """One rejected input with the reason and where it came from. In JSON, ``original`` and ``key`` are
    standard base64."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    original: Base64Bytes
    key: Base64Bytes | None = None
    error: str
    field: str | None = None
    stage: str
    source_topic: str
    partition: int | None = None
    offset: int | None = None
    failed_at: datetime
    headers: dict[str, str] | None = None
