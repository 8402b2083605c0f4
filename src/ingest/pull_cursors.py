"""Where each pull of a push connector stands (the 微信客服 ``sync_msg`` cursor per connector and
``open_kfid``), stored only after the events it fetched are durable.

Repository functions take a keyword-only ``session`` and never commit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String, Text, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from sqlkit import upsert_rows


class PullCursorBase(DeclarativeBase):
    """Declarative base of the pull cursors."""


class PullCursorRow(PullCursorBase):
    __tablename__ = "pull_cursors"

    connector: Mapped[str] = mapped_column(String(128), primary_key=True)
    stream: Mapped[str] = mapped_column(String(256), primary_key=True)
    cursor: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def load_cursor(connector: str, stream: str, *, session: Session) -> str | None:
    """The stored cursor of ``stream`` (e.g. an open_kfid; ``""`` for a connector's only stream)."""
    return session.scalar(
        select(PullCursorRow.cursor).where(PullCursorRow.connector == connector, PullCursorRow.stream == stream)
    )


def save_cursor(connector: str, stream: str, cursor: str, at: datetime, *, session: Session) -> None:
    """Store ``cursor`` as where ``stream`` stands (overwriting the previous one)."""
    upsert_rows(session, PullCursorRow.__table__,  # type: ignore[arg-type]
                [{"connector": connector, "stream": stream, "cursor": cursor, "updated_at": at}],
                ["connector", "stream"])
