"""The dead-letter table (embedded runtime; the Kafka runtime uses the ``scrm.deadletter`` topic).

Repository functions take a keyword-only ``session`` and never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import DateTime, Integer, LargeBinary, String, Text, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from ingest.deadletter import DeadLetter


class DeadLetterBase(DeclarativeBase):
    """Declarative base of the dead-letter table."""


class DeadLetterRow(DeadLetterBase):
    __tablename__ = "deadletters"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    original: Mapped[bytes] = mapped_column(LargeBinary)
    key: Mapped[bytes | None] = mapped_column(LargeBinary)
    error: Mapped[str] = mapped_column(Text)
    field: Mapped[str | None] = mapped_column(String(256))
    stage: Mapped[str] = mapped_column(String(64))
    source_topic: Mapped[str] = mapped_column(String(256))
    partition: Mapped[int | None] = mapped_column(Integer)
    offset: Mapped[int | None] = mapped_column(Integer)
    failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


def record_dead_letters(letters: Sequence[DeadLetter], *, session: Session) -> None:
    """Append dead letters."""
    session.add_all(DeadLetterRow(**letter.model_dump(exclude={"schema_version"})) for letter in letters)


def list_dead_letters(*, session: Session, limit: int = 100) -> list[DeadLetter]:
    """The most recent dead letters, newest first."""
    rows = session.scalars(select(DeadLetterRow).order_by(DeadLetterRow.id.desc()).limit(limit))
    return [
        DeadLetter.model_validate({c.name: getattr(row, c.name) for c in DeadLetterRow.__table__.columns if c.name != "id"})
        for row in rows
    ]


def count_dead_letters(*, session: Session) -> int:
    """How many dead letters are stored."""
    return int(session.scalar(select(func.count()).select_from(DeadLetterRow)) or 0)
