"""Reading the JSON bodies of webhook platforms (Meta, Douyin): the body, ids, timestamps, bounded text and raw.

Pure helpers. The readers (``text_of``, ``mapping_of``, ``list_of``, ``epoch``) return ``None`` or an empty
value for an absent or ill-typed field instead of raising, so each adapter decides whether a missing field
skips a part of a delivery or refuses the whole delivery. Only ``load_json`` raises (``InvalidEvent``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ingest.contracts import MAX_RAW_BYTES, MAX_TEXT_CHARS, json_size
from ingest.exceptions import InvalidEvent

MS_THRESHOLD = 100_000_000_000
"""An epoch number above this is milliseconds, below it seconds (1e11 s is the year 5138, 1e11 ms 1973)."""


def load_json(body: bytes) -> Any:
    """Parse a request body as UTF-8 JSON (a leading byte-order mark is tolerated).

    Raises ``InvalidEvent("<payload>", reason)``: empty body, bad UTF-8, not JSON, nested too deeply.
    """
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidEvent("<payload>", f"not valid UTF-8 at byte {exc.start}") from exc
    if not text.strip():
        raise InvalidEvent("<payload>", "empty body")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidEvent(
            "<payload>", f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    except RecursionError as exc:
        raise InvalidEvent("<payload>", "JSON nested too deeply") from exc


def text_of(value: Any) -> str | None:
    """A non-blank string as is, an integer as its decimal text (ids and challenges arrive as either),
    anything else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, int):
        return str(value)
    return None


def mapping_of(value: Any) -> Mapping[str, Any]:
    """``value`` if it is a JSON object, else an empty mapping."""
    return value if isinstance(value, dict) else {}


def list_of(value: Any) -> list[Any]:
    """``value`` if it is a JSON array, else an empty list."""
    return value if isinstance(value, list) else []


def epoch(value: Any) -> datetime | None:
    """A timezone-aware UTC datetime from Unix seconds or milliseconds (told apart by ``MS_THRESHOLD``),
    a string of digits holding either, or an ISO-8601 string with an offset (the Graph API writes
    ``2017-08-31T18:10:30+0000``). ``None`` for anything else, zero, negatives and out-of-range values."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        stripped = value.strip()
        if not stripped.isdigit():
            try:
                parsed = datetime.fromisoformat(stripped)
            except ValueError:
                return None
            return parsed.astimezone(UTC) if parsed.tzinfo is not None else None
        value = int(stripped)
    if not isinstance(value, int | float) or value <= 0:
        return None
    seconds = value / 1000 if value > MS_THRESHOLD else value
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def bounded_text(value: Any) -> str | None:
    """A string cut to the contract's ``MAX_TEXT_CHARS`` (the full text stays in ``raw``); ``None`` for an
    empty or non-string value."""
    if not isinstance(value, str) or not value:
        return None
    return value[:MAX_TEXT_CHARS]


def bounded_raw(raw: dict[str, Any]) -> dict[str, Any]:
    """``raw`` if its compact JSON fits the contract's 256 KiB, else a small stand-in saying it was left out
    and how big it was: the event still flows (the interaction happened), and the receiver keeps the
    request's original bytes."""
    size = json_size(raw)
    if size <= MAX_RAW_BYTES:
        return raw
    return {
        "omitted": f"original payload of {size} bytes is over the {MAX_RAW_BYTES}-byte raw limit",
        "bytes": size,
    }
