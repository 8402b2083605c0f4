"""Small dialect-aware SQL helpers for the alerts tables (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

# Advisory-lock namespace of the alerts package (the two-key form: never collides with one-key locks).
_LOCK_NAMESPACE = 5_1337


def upsert(session: Session, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str], *,
           update: bool = True) -> None:
    """Insert ``rows``; where ``keys`` exist, overwrite the other columns (or keep the row, ``update=False``).
    One statement; does not commit."""
    if not rows:
        return
    module: Any = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = module.insert(table).values(list(rows))
    if not update:
        session.execute(statement.on_conflict_do_nothing(index_elements=list(keys)))
        return
    updates = {c.name: statement.excluded[c.name] for c in table.columns if c.name not in keys}
    session.execute(statement.on_conflict_do_update(index_elements=list(keys), set_=updates))


def lock_keys(keys: Iterable[str], *, session: Session) -> None:
    """Serialise writers of these keys until the transaction ends: PostgreSQL transaction advisory locks
    taken in sorted order (no deadlocks between batches); SQLite already has a single writer. Blocks."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for key in sorted(set(keys)):
        session.execute(text("SELECT pg_advisory_xact_lock(:ns, hashtext(:key))"), {"ns": _LOCK_NAMESPACE, "key": key})
