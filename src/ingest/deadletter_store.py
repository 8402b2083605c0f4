"""The dead-letter table — one view of rejected input for the API, the console and the CLI, whichever
runtime rejected it (the dead-letter lane writes ``scrm.deadletter`` here) — and the dead-letter guard's
trips and waivers.

Repository functions take a keyword-only ``session`` and never commit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import JSON, DateTime, Integer, LargeBinary, String, Text, delete, func, select, update
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from ingest.deadletter import DeadLetter
from sqlkit import count_older, delete_older, insert_new


class DeadLetterBase(DeclarativeBase):
    """Declarative base of the dead-letter tables."""


class DeadLetterRow(DeadLetterBase):
    __tablename__ = "deadletters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    letter_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    original: Mapped[bytes] = mapped_column(LargeBinary)
    key: Mapped[bytes | None] = mapped_column(LargeBinary)
    error: Mapped[str] = mapped_column(Text)
    field: Mapped[str | None] = mapped_column(String(256))
    stage: Mapped[str] = mapped_column(String(64))
    source_topic: Mapped[str] = mapped_column(String(256))
    partition: Mapped[int | None] = mapped_column(Integer)
    offset: Mapped[int | None] = mapped_column(Integer)
    failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    replayed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    headers: Mapped[dict[str, str] | None] = mapped_column(JSON)


class GuardTripRow(DeadLetterBase):
    """A lane stopped by the dead-letter guard, and the waiver (``scrm deadletters skip``) that lets it go
    on: who waived, why and when; records up to ``waived_through`` on that partition count as handled."""

    __tablename__ = "deadletter_guard_trips"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    lane: Mapped[str] = mapped_column(String(64), index=True)
    topic: Mapped[str] = mapped_column(String(256))
    partition: Mapped[int | None] = mapped_column(Integer)
    offset: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    tripped_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    waived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    waived_by: Mapped[str | None] = mapped_column(String(256))
    waive_reason: Mapped[str | None] = mapped_column(Text)
    waived_through: Mapped[int | None] = mapped_column(Integer)


def letter_key(letter: DeadLetter) -> str:
    """The identity of a dead letter: where it failed and what it was (a re-delivered dead letter, or the
    same bad delivery retried by a platform, is stored once)."""
    where = f"{letter.stage}|{letter.source_topic}|{letter.partition}|{letter.offset}|".encode()
    return hashlib.sha256(where + letter.original).hexdigest()


def record_dead_letters(letters: Sequence[DeadLetter], *, session: Session) -> int:
    """Store dead letters not stored yet (idempotent by ``letter_key``); returns how many were new."""
    rows = [{"letter_key": letter_key(letter), **letter.model_dump(exclude={"schema_version"})} for letter in letters]
    return len(insert_new(session, DeadLetterRow.__table__, rows, "letter_key")) if rows else 0  # type: ignore[arg-type]


def delete_dead_letters(*, before: datetime, limit: int, session: Session) -> int:
    """Delete up to ``limit`` dead letters that failed before ``before`` (oldest first; retention: they hold
    the original bytes); returns how many. Idempotent."""
    table = DeadLetterRow.__table__
    return delete_older(table, when="failed_at", key="id", before=before, limit=limit, session=session)  # type: ignore[arg-type]


@dataclass(frozen=True)
class StoredDeadLetter:
    """A dead letter with its row id and whether it was replayed."""

    id: int
    letter: DeadLetter
    replayed_at: datetime | None


_LETTER_FIELDS = tuple(name for name in DeadLetter.model_fields if name != "schema_version")


def _stored(row: DeadLetterRow) -> StoredDeadLetter:
    letter = DeadLetter.model_validate({name: getattr(row, name) for name in _LETTER_FIELDS})
    return StoredDeadLetter(id=row.id, letter=letter, replayed_at=row.replayed_at)


def list_dead_letters(*, session: Session, limit: int = 100) -> list[DeadLetter]:
    """The most recent dead letters, newest first."""
    rows = session.scalars(select(DeadLetterRow).order_by(DeadLetterRow.id.desc()).limit(limit))
    return [_stored(row).letter for row in rows]


def find_dead_letters(
    *, session: Session, since: datetime | None = None, reason: str | None = None, stage: str | None = None,
    include_replayed: bool = False, limit: int = 100_000,
) -> list[StoredDeadLetter]:
    """Dead letters oldest first, filtered: failed at or after ``since``, ``reason`` a substring of the
    error (case-insensitive), of ``stage``; not yet replayed unless ``include_replayed``."""
    query = select(DeadLetterRow).order_by(DeadLetterRow.id).limit(limit)
    if since is not None:
        query = query.where(DeadLetterRow.failed_at >= since)
    if reason:
        query = query.where(func.lower(DeadLetterRow.error).contains(reason.lower(), autoescape=True))
    if stage:
        query = query.where(DeadLetterRow.stage == stage)
    if not include_replayed:
        query = query.where(DeadLetterRow.replayed_at.is_(None))
    return [_stored(row) for row in session.scalars(query)]


def mark_replayed(ids: Sequence[int], at: datetime, *, session: Session) -> None:
    """Record that these dead letters were submitted again."""
    if ids:
        session.execute(update(DeadLetterRow).where(DeadLetterRow.id.in_(list(ids))).values(replayed_at=at))


def count_dead_letters(*, session: Session, before: datetime | None = None) -> int:
    """How many dead letters are stored (with ``before``: that failed before it, what ``delete_dead_letters``
    would remove in all)."""
    if before is not None:
        return count_older(DeadLetterRow.__table__, when="failed_at", before=before, session=session)  # type: ignore[arg-type]
    return int(session.scalar(select(func.count()).select_from(DeadLetterRow)) or 0)


@dataclass(frozen=True)
class GuardTrip:
    """One stop of a lane by the dead-letter guard (``waived_*`` set once someone let it go on)."""

    id: int
    lane: str
    topic: str
    partition: int | None
    offset: int | None
    reason: str
    tripped_at: datetime
    waived_at: datetime | None = None
    waived_by: str | None = None
    waive_reason: str | None = None
    waived_through: int | None = None


def _trip(row: GuardTripRow) -> GuardTrip:
    return GuardTrip(id=row.id, lane=row.lane, topic=row.topic, partition=row.partition, offset=row.offset,
                     reason=row.reason, tripped_at=row.tripped_at, waived_at=row.waived_at, waived_by=row.waived_by,
                     waive_reason=row.waive_reason, waived_through=row.waived_through)


def record_trip(lane: str, topic: str, partition: int | None, offset: int | None, reason: str, at: datetime,
                *, session: Session) -> None:
    """Remember that the guard stopped ``lane`` at that record."""
    session.add(GuardTripRow(lane=lane, topic=topic, partition=partition, offset=offset, reason=reason, tripped_at=at))


def list_trips(*, session: Session, lane: str | None = None, limit: int = 100) -> list[GuardTrip]:
    """Guard trips, newest first."""
    query = select(GuardTripRow).order_by(GuardTripRow.id.desc()).limit(limit)
    if lane:
        query = query.where(GuardTripRow.lane == lane)
    return [_trip(row) for row in session.scalars(query)]


def waive_trips(lane: str, *, by: str, reason: str, window: int, at: datetime, session: Session) -> list[GuardTrip]:
    """Waive every unwaived trip of ``lane``: records up to ``window`` past each trip's offset will count as
    handled (they are still dead-lettered). Returns the trips waived."""
    rows = list(session.scalars(select(GuardTripRow).where(GuardTripRow.lane == lane, GuardTripRow.waived_at.is_(None))))
    for row in rows:
        row.waived_at, row.waived_by, row.waive_reason = at, by, reason
        row.waived_through = (row.offset if row.offset is not None else 0) + window
    session.flush()
    return [_trip(row) for row in rows]


def waivers_of(lane: str, *, session: Session) -> list[GuardTrip]:
    """The waived trips of ``lane`` (what its guard must honour on start)."""
    query = select(GuardTripRow).where(GuardTripRow.lane == lane, GuardTripRow.waived_at.is_not(None))
    return [_trip(row) for row in session.scalars(query.order_by(GuardTripRow.id))]


def delete_keyed(keys: Iterable[str], *, session: Session) -> int:
    """Delete the dead letters whose record key is one of ``keys`` (the raw topic's key is the author's
    identity key: an erased person's invalid events); returns how many."""
    wanted = [key.encode() for key in set(keys)]
    if not wanted:
        return 0
    result = session.execute(delete(DeadLetterRow).where(DeadLetterRow.key.in_(wanted)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def count_keyed(keys: Iterable[str], *, session: Session) -> int:
    """How many dead letters are keyed by one of ``keys``."""
    wanted = [key.encode() for key in set(keys)]
    if not wanted:
        return 0
    return int(session.scalar(select(func.count()).select_from(DeadLetterRow).where(DeadLetterRow.key.in_(wanted))) or 0)
