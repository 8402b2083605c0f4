"""Wake the dispatcher when new outbox entries commit, instead of polling the database in a tight loop.

On PostgreSQL the transaction that enqueues outbox entries also sends ``NOTIFY scrm_outbox``; PostgreSQL
delivers it only when (and if) that transaction commits, so a listener never wakes for entries it cannot
see yet. Other databases have no notifications: the dispatcher falls back to polling.
"""

from __future__ import annotations

from typing import Protocol

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

CHANNEL = "scrm_outbox"


class OutboxSignal(Protocol):
    """Something a dispatcher can wait on between passes."""

    def wait(self, timeout: float) -> bool:
        """Block until new outbox entries may have committed (``True``) or ``timeout`` seconds passed."""
        ...

    def close(self) -> None:
        """Release the resources behind the signal."""
        ...


def notify_outbox(session: Session) -> None:
    """Tell listeners, at commit, that this transaction enqueued outbox entries (PostgreSQL only; a no-op
    elsewhere). Several notifications in one transaction are delivered once."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"NOTIFY {CHANNEL}"))


class PostgresOutboxListener:
    """``LISTEN scrm_outbox`` on its own autocommit connection. Raises ``psycopg.OperationalError`` when
    the database cannot be reached."""

    def __init__(self, database_url: str) -> None:
        url = make_url(database_url).set(drivername="postgresql")
        self._connection = psycopg.connect(url.render_as_string(hide_password=False), autocommit=True)
        self._connection.execute(f"LISTEN {CHANNEL}")

    def wait(self, timeout: float) -> bool:
        """Blocks up to ``timeout`` seconds; ``True`` when a notification arrived."""
        return bool(list(self._connection.notifies(timeout=timeout, stop_after=1)))

    def close(self) -> None:
        self._connection.close()


def listener_for(database_url: str) -> OutboxSignal | None:
    """A listener where the database supports notifications, else ``None`` (poll)."""
    if make_url(database_url).get_backend_name() == "postgresql":
        return PostgresOutboxListener(database_url)
    return None
