"""Batched upserts and transaction-scoped advisory locks, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def upsert_rows(
    session: Session, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str], *, update: bool = True
) -> None:
    """Insert ``rows`` (all with the same columns); where ``keys`` already exist, overwrite the other given
    columns (or keep the row, ``update=False``). One cached statement executed for all rows (psycopg
    batches them); never commits."""
    if not rows:
        return
    module: Any = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = module.insert(table)
    if update:
        updates = {name: statement.excluded[name] for name in rows[0] if name not in keys}
        statement = statement.on_conflict_do_update(index_elements=list(keys), set_=updates)
    else:
        statement = statement.on_conflict_do_nothing(index_elements=list(keys))
    session.execute(statement, list(rows))


def lock_keys(keys: Iterable[str], *, namespace: int, session: Session) -> None:
    """Serialise writers of these keys until the transaction ends: PostgreSQL transaction-scoped advisory
    locks ``(namespace, hash(key))``, taken in one statement in sorted order so two transactions never
    deadlock on them. SQLite already has a single writer: a no-op there. Re-locking is harmless. Blocks."""
    ordered = sorted(set(keys))
    if not ordered or session.get_bind().dialect.name != "postgresql":
        return
    session.execute(
        text(
            "SELECT pg_advisory_xact_lock(:namespace, hashtext(locked.key)) FROM "
            "(SELECT key FROM unnest(CAST(:keys AS text[])) WITH ORDINALITY AS t(key, n) ORDER BY n) AS locked"
        ),
        {"namespace": namespace, "keys": ordered},
    )
