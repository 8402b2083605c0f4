"""Where pollers keep their cursors: the ``CursorStore`` protocol, an in-memory store (tests, a one-off
run) and the platform database's ``poll_cursors`` table (one row per connector and endpoint). The pulls of
push connectors keep theirs there too: the 微信客服 ``sync_msg`` cursor of an ``open_kfid`` is the watermark
of endpoint ``kf_endpoint(open_kfid)``.

A cursor is saved only after the events of its page are durable (the engine's sink returned), and ``save``
returns only once the cursor itself is durable: a poller killed between the two fetches that page again on
restart (at-least-once; event ids make the repeat harmless downstream), never skips one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import JSON, DateTime, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from ingest.polling.spec import Cursor
from sqlkit import upsert_rows


class CursorStore(Protocol):
    """Durable cursors by (connector, endpoint)."""

    def load(self, connector: str, endpoint: str) -> Cursor | None:
        """The stored cursor, ``None`` before the first page was stored. Blocks."""
        ...

    def save(self, connector: str, endpoint: str, cursor: Cursor) -> None:
        """Store ``cursor``, replacing the previous one; returns once it is durable. Blocks; idempotent."""
        ...


class MemoryCursorStore:
    """Cursors in a dict: durable for the life of the process only (tests, ``--once`` runs without a
    database)."""

    def __init__(self) -> None:
        self.cursors: dict[tuple[str, str], Cursor] = {}

    def load(self, connector: str, endpoint: str) -> Cursor | None:
        return self.cursors.get((connector, endpoint))

    def save(self, connector: str, endpoint: str, cursor: Cursor) -> None:
        self.cursors[(connector, endpoint)] = cursor


class PollCursorBase(DeclarativeBase):
    """Declarative base of the pollers' tables."""


class PollCursorRow(PollCursorBase):
    """One connector endpoint's cursor (``ingest.polling.spec.Cursor`` as JSON) and when it last moved."""

    __tablename__ = "poll_cursors"

    connector: Mapped[str] = mapped_column(String(128), primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(128), primary_key=True)
    cursor: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def kf_endpoint(open_kfid: str) -> str:
    """The endpoint under which a WeCom connector's 微信客服 pull cursor for ``open_kfid`` is stored."""
    return f"sync_msg:{open_kfid}"


def load_cursor(connector: str, endpoint: str, *, session: Session) -> Cursor | None:
    """The stored cursor of (connector, endpoint), or ``None``."""
    data = session.scalar(select(PollCursorRow.cursor).where(
        PollCursorRow.connector == connector, PollCursorRow.endpoint == endpoint))
    return None if data is None else Cursor.model_validate(data)


def save_cursor(connector: str, endpoint: str, cursor: Cursor, at: datetime, *, session: Session) -> None:
    """Insert or replace the cursor of (connector, endpoint). Never commits."""
    row = {"connector": connector, "endpoint": endpoint, "cursor": cursor.model_dump(mode="json"), "updated_at": at}
    upsert_rows(session, PollCursorRow.__table__, [row], ("connector", "endpoint"))  # type: ignore[arg-type]


class SqlCursorStore:
    """``CursorStore`` on the platform database: each ``save`` is its own committed transaction. ``clock``
    stamps ``updated_at``."""

    def __init__(self, session_factory: sessionmaker[Session], *, clock: Callable[[], datetime]) -> None:
        self._sessions = session_factory
        self._clock = clock

    def load(self, connector: str, endpoint: str) -> Cursor | None:
        with self._sessions() as session:
            return load_cursor(connector, endpoint, session=session)

    def save(self, connector: str, endpoint: str, cursor: Cursor) -> None:
        with self._sessions.begin() as session:
            save_cursor(connector, endpoint, cursor, self._clock(), session=session)
