"""Opaque keyset-pagination cursors: the last row's (time, key), URL-safe base64 of a JSON pair."""

from __future__ import annotations

import base64
import json
from datetime import datetime


class InvalidCursor(ValueError):
    """A ``before`` cursor that is not one this module wrote."""


def encode_cursor(at: datetime, key: str) -> str:
    """The cursor of a page ending at ``(at, key)`` (``at`` timezone-aware)."""
    raw = json.dumps([at.isoformat(), key], ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """``(at, key)`` of a cursor; raises ``InvalidCursor`` for anything else."""
    try:
        at, key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        parsed = datetime.fromisoformat(at)
    except (ValueError, TypeError) as exc:
        raise InvalidCursor("not a page cursor") from exc
    if parsed.tzinfo is None or not isinstance(key, str):
        raise InvalidCursor("not a page cursor")
    return parsed, key
