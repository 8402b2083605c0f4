"""Batched upserts, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
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
