"""Decode step: raw bytes to ``SocialEvent``, or a ``DeadLetter`` carrying the original bytes and reason."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from ingest.codec import decode_event
from ingest.contracts import SocialEvent
from ingest.deadletter import DeadLetter
from ingest.exceptions import InvalidEvent
from ingest.records import SourceRecord

M = TypeVar("M", bound=BaseModel)


def decode_record(record: SourceRecord, *, now: datetime | None = None) -> SocialEvent | DeadLetter:
    """Pure. Returns the event, or a dead letter when the bytes are not a valid ``SocialEvent``. ``now``
    (default: the wall clock) is the receive time of an event without ``received_at``, and the failure
    time of a dead letter."""
    try:
        return decode_event(record.value, received_at=now)
    except InvalidEvent as exc:
        return dead_letter(record, stage="decode", error=str(exc), field=exc.field, now=now)


def dead_letter(
    record: SourceRecord, *, stage: str, error: str, field: str | None = None, now: datetime | None = None
) -> DeadLetter:
    """A dead letter for ``record``, failed at ``stage`` for ``error``."""
    return DeadLetter(
        original=record.value,
        key=record.key,
        error=error,
        field=field,
        stage=stage,
        source_topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        failed_at=now or datetime.now(UTC),
    )


def parse_records(records: Sequence[SourceRecord], model: type[M], *, stage: str) -> tuple[list[M], list[DeadLetter]]:
    """Pure. The records' values validated as ``model``, in order; the ones that are not become dead letters."""
    parsed: list[M] = []
    dead: list[DeadLetter] = []
    for record in records:
        try:
            parsed.append(model.model_validate_json(record.value))
        except ValidationError as exc:
            dead.append(dead_letter(record, stage=stage, error=f"not a {model.__name__}: {exc}"))
    return parsed, dead
