"""Bytes <-> ``SocialEvent``. Pure functions (given the receive time); the only place that knows the wire
format.

``decode_event`` never raises anything but ``InvalidEvent`` for bad input, so a consumer can dead-letter
exactly what it cannot read and go on. An event without ``received_at`` (absent or ``null``) gets the
receive time the caller passes (the intake's clock; the wall clock if it passes none), so every decoded
event carries one.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from ingest.contracts import SocialEvent
from ingest.exceptions import InvalidEvent


def encode_event(event: SocialEvent) -> bytes:
    """Serialise an event as UTF-8 JSON (the ``scrm.events.raw`` value format)."""
    return event.model_dump_json(exclude_none=False).encode("utf-8")


def decode_event(data: bytes | str, *, received_at: datetime | None = None) -> SocialEvent:
    """Parse and validate one event; ``received_at`` (default: now, UTC) is stamped on an event that does
    not carry its own.

    Raises ``InvalidEvent`` naming the first offending field: bad UTF-8, not JSON, not an object, wrong
    types, unknown platform or kind, naive datetimes, text over 20,000 characters, raw over 256 KiB.
    """
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidEvent("<payload>", f"not valid UTF-8 at byte {exc.start}") from exc
    try:
        payload = json.loads(data)
    except json.JSONDecodeError as exc:
        raise InvalidEvent("<payload>", f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    except RecursionError as exc:
        raise InvalidEvent("<payload>", "JSON nested too deeply") from exc
    return event_from_dict(payload, received_at=received_at)


def event_from_dict(payload: Any, *, received_at: datetime | None = None) -> SocialEvent:
    """Validate an already-parsed JSON value as a ``SocialEvent``, stamping ``received_at`` (default:
    now, UTC) when the value has none; raises ``InvalidEvent``."""
    if not isinstance(payload, dict):
        raise InvalidEvent("<payload>", f"expected a JSON object, got {type(payload).__name__}")
    if payload.get("received_at") is None:
        payload = {**payload, "received_at": received_at or datetime.now(UTC)}
    try:
        return SocialEvent.model_validate(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "<payload>"
        raise InvalidEvent(field, _reason(first)) from exc


def _reason(error: Any) -> str:
    kind = error.get("type", "")
    if kind == "timezone_aware":
        return "datetime must carry a timezone offset (e.g. 2026-11-23T08:00:00+08:00)"
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "enum":
        expected = error.get("ctx", {}).get("expected", "")
        return f"unknown value {error.get('input')!r}; expected one of {expected}"
    message: str = error.get("msg", "invalid")
    return message
