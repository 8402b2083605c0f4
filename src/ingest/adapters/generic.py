"""Generic ingest (``POST /v1/ingest/events``): a body of ready-made ``SocialEvent`` objects, judged one by one.

Pure: ``parse_events(body)`` returns an ``IngestBatch`` with one outcome per item, in order: ``Accepted``
(the validated event) or ``Rejected`` (where, the offending field, the reason, and the item's original
bytes so the caller can dead-letter exactly that item). The body's shape is decided by its first non-space
byte: ``[`` is one JSON array of event objects; anything else is JSON lines (one event object per line,
blank lines ignored, ``\\r\\n`` accepted). A pretty-printed multi-line object is therefore not JSON lines:
send it inside an array.

Every item goes through ``ingest.codec`` (``decode_event`` / ``event_from_dict``), so the rules are the
contract's: known platform and kind, timezone-aware datetimes, text up to 20,000 characters, ``raw`` up to
256 KiB. The same ``event_id`` twice in one batch is accepted twice; downstream effects are idempotent by id.

At most ``MAX_EVENTS`` (10,000) items per request: more raises ``BatchTooLarge`` before anything is judged
(answer 413). A JSON array that is not well-formed JSON raises ``InvalidEvent`` for the whole body (its
items cannot be told apart), as does a body that is empty or not UTF-8 in array form; a bad JSON line only
rejects that line. The receiver should also cap the body's size before calling this.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ingest.codec import decode_event, event_from_dict
from ingest.contracts import SocialEvent
from ingest.exceptions import BatchTooLarge, InvalidEvent

MAX_EVENTS = 10_000
_BOM = b"\xef\xbb\xbf"
_JSON_SPACE = " \t\r\n"


@dataclass(frozen=True, slots=True)
class Accepted:
    """Item ``line`` became ``event``."""

    line: int
    event: SocialEvent


@dataclass(frozen=True, slots=True)
class Rejected:
    """Item ``line`` cannot become an event: ``field`` (dotted path or ``<payload>``) and ``reason`` say why,
    ``original`` is the item's exact bytes."""

    line: int
    field: str
    reason: str
    original: bytes


@dataclass(frozen=True, slots=True)
class IngestBatch:
    """One outcome per item, in body order. ``line`` is 1-based: the line number in a JSON-lines body (blank
    lines counted), the element number in a JSON array."""

    outcomes: tuple[Accepted | Rejected, ...]

    @property
    def accepted(self) -> tuple[SocialEvent, ...]:
        return tuple(outcome.event for outcome in self.outcomes if isinstance(outcome, Accepted))

    @property
    def rejected(self) -> tuple[Rejected, ...]:
        return tuple(outcome for outcome in self.outcomes if isinstance(outcome, Rejected))


def parse_events(body: bytes, *, max_events: int = MAX_EVENTS) -> IngestBatch:
    """Judge every item of ``body``. Pure; never raises for one bad item.

    Raises ``BatchTooLarge`` (more than ``max_events`` items) and ``InvalidEvent`` (an empty body, or a JSON
    array that is not UTF-8 or not well-formed).
    """
    if body.startswith(_BOM):
        body = body[len(_BOM) :]
    stripped = body.lstrip()
    if not stripped:
        raise InvalidEvent("<payload>", "empty body")
    if stripped.startswith(b"["):
        return IngestBatch(tuple(_array_items(stripped, max_events)))
    return IngestBatch(tuple(_json_lines(body, max_events)))


def _json_lines(body: bytes, max_events: int) -> list[Accepted | Rejected]:
    lines = [(number, line.removesuffix(b"\r")) for number, line in enumerate(body.split(b"\n"), start=1)]
    items = [(number, line) for number, line in lines if line.strip()]
    if len(items) > max_events:
        raise BatchTooLarge(max_events)
    return [_judge(number, line, decode_event, line) for number, line in items]


def _array_items(body: bytes, max_events: int) -> list[Accepted | Rejected]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidEvent("<payload>", f"not valid UTF-8 at byte {exc.start}") from exc
    decoder = json.JSONDecoder()
    outcomes: list[Accepted | Rejected] = []
    pos = _skip_space(text, 1)
    if text.startswith("]", pos):
        return _end_of_array(text, pos, outcomes)
    while True:
        try:
            value, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise InvalidEvent(
                "<payload>", f"not a JSON array: {exc.msg} at line {exc.lineno} column {exc.colno}"
            ) from exc
        except RecursionError as exc:
            raise InvalidEvent("<payload>", "JSON nested too deeply") from exc
        if len(outcomes) == max_events:
            raise BatchTooLarge(max_events)
        original = text[pos:end].encode("utf-8")
        outcomes.append(_judge(len(outcomes) + 1, original, event_from_dict, value))
        pos = _skip_space(text, end)
        if text.startswith(",", pos):
            pos = _skip_space(text, pos + 1)
            continue
        return _end_of_array(text, pos, outcomes)


def _end_of_array(text: str, pos: int, outcomes: list[Accepted | Rejected]) -> list[Accepted | Rejected]:
    if not text.startswith("]", pos):
        raise InvalidEvent("<payload>", f"not a JSON array: expected ',' or ']' at character {pos}")
    if text[pos + 1 :].strip(_JSON_SPACE):
        raise InvalidEvent("<payload>", f"not a JSON array: extra data after ']' at character {pos + 1}")
    return outcomes


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _JSON_SPACE:
        pos += 1
    return pos


def _judge(
    line: int, original: bytes, validate: Callable[[Any], SocialEvent], item: Any
) -> Accepted | Rejected:
    try:
        return Accepted(line, validate(item))
    except InvalidEvent as exc:
        return Rejected(line, exc.field, exc.reason, original)
