"""Decode step: raw bytes to ``SocialEvent``, or a ``DeadLetter`` carrying the original bytes and reason."""

from __future__ import annotations

from datetime import UTC, datetime

from ingest.codec import decode_event
from ingest.contracts import SocialEvent
from ingest.deadletter import DeadLetter
from ingest.exceptions import InvalidEvent
from ingest.records import SourceRecord


def decode_record(record: SourceRecord, *, now: datetime | None = None) -> SocialEvent | DeadLetter:
    """Pure. Returns the event, or a dead letter when the bytes are not a valid ``SocialEvent``."""
    try:
        return decode_event(record.value)
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
