"""The intake journal of the embedded runtime: messages a receiver accepted, on disk before it answers,
until the pipeline has handled them (then trimmed). Rows left by a process that died are fed again on
start (the lanes are idempotent by event key, so feeding twice is harmless).

Repository functions take a keyword-only ``session`` and never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import DateTime, Integer, LargeBinary, String, delete, func, insert, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from streams.transports import Outgoing


class IntakeJournalBase(DeclarativeBase):
    """Declarative base of the intake journal."""


class IntakeJournalRow(IntakeJournalBase):
    __tablename__ = "intake_journal"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    topic: Mapped[str] = mapped_column(String(256))
    key: Mapped[bytes | None] = mapped_column(LargeBinary)
    value: Mapped[bytes] = mapped_column(LargeBinary)
    accepted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def append_messages(messages: Sequence[Outgoing], at: datetime, *, session: Session) -> int:
    """Journal ``messages`` (values must not be ``None``); returns the highest id written (0 for none)."""
    if not messages:
        return 0
    rows = [{"topic": m.topic, "key": m.key, "value": m.value, "accepted_at": at} for m in messages]
    ids = session.scalars(insert(IntakeJournalRow).returning(IntakeJournalRow.id), rows).all()
    return max(ids)


def journalled_messages(*, session: Session) -> list[tuple[int, Outgoing]]:
    """Every journalled message with its id, oldest first."""
    rows = session.execute(select(IntakeJournalRow.id, IntakeJournalRow.topic, IntakeJournalRow.key,
                                  IntakeJournalRow.value).order_by(IntakeJournalRow.id))
    return [(row.id, Outgoing(row.topic, row.key, row.value)) for row in rows]


def trim_journal(through: int, *, session: Session) -> int:
    """Forget the messages with ids up to ``through``; returns how many."""
    result = session.execute(delete(IntakeJournalRow).where(IntakeJournalRow.id <= through))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def count_journalled(*, session: Session) -> int:
    """How many messages the journal holds."""
    return int(session.scalar(select(func.count()).select_from(IntakeJournalRow)) or 0)


def forget_keyed(keys: Sequence[str], *, session: Session) -> int:
    """Delete the journalled messages keyed by one of ``keys`` (an erased person's, not yet handled);
    returns how many."""
    wanted = [key.encode() for key in set(keys)]
    if not wanted:
        return 0
    result = session.execute(delete(IntakeJournalRow).where(IntakeJournalRow.key.in_(wanted)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
