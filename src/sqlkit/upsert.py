"""Batched upserts and insert-if-new claims, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from pydantic_core import to_json
from sqlalchemy import JSON, Dialect, LargeBinary, Table, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from sqlkit.json import JsonText


def upsert_rows(
    session: Session, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str], *, update: bool = True
) -> None:
    """Insert ``rows`` (all with the same columns); where ``keys`` already exist, overwrite the other given
    columns (or keep the row, ``update=False``). Rows repeating a key count as if upserted one after the
    other: the last one wins an update, the first one an insert-only. Never commits.

    PostgreSQL gets the whole batch as one JSON array in one ``INSERT ... SELECT FROM
    json_populate_recordset`` statement, executed once instead of once per row (a pipelined
    ``executemany`` binds and executes every row separately, and converts every parameter client-side).
    JSON columns are embedded as they are and stored verbatim. SQLite gets one cached statement
    executed for all rows."""
    if rows:
        _insert(session, table, rows, tuple(keys), update=update, returning=None)


def insert_new(session: Session, table: Table, rows: Sequence[dict[str, Any]], key: str) -> set[Any]:
    """Insert the ``rows`` whose ``key`` is not stored yet and return those keys; stored rows are kept.
    One statement, as ``upsert_rows``. Claims are exclusive: of two transactions inserting one key, the
    second waits for the first and gets the key only if the first rolls back. Never commits."""
    if not rows:
        return set()
    return set(_insert(session, table, rows, (key,), update=False, returning=key))


def _insert(
    session: Session,
    table: Table,
    rows: Sequence[dict[str, Any]],
    keys: tuple[str, ...],
    *,
    update: bool,
    returning: str | None,
) -> list[Any]:
    """The statement of ``upsert_rows`` / ``insert_new``; the ``returning`` column of the rows written."""
    unique = _one_row_per_key(rows, keys, last_wins=update)
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":
        statement = sqlite.insert(table)
        if update:
            updates = {name: statement.excluded[name] for name in rows[0] if name not in keys}
            statement = statement.on_conflict_do_update(index_elements=list(keys), set_=updates)
        else:
            statement = statement.on_conflict_do_nothing(index_elements=list(keys))
        if returning is None:
            session.execute(statement, unique)
            return []
        return list(session.scalars(statement.returning(table.c[returning]), unique))
    columns = tuple(rows[0])
    json_columns = tuple(name for name in columns if isinstance(table.c[name].type, JSON))
    binary = tuple(name for name in columns if isinstance(table.c[name].type, LargeBinary))
    if binary:  # bytea's text input form: JSON has no bytes, and arbitrary bytes are not UTF-8
        unique = [{**row, **{n: _bytea(row[n]) for n in binary}} for row in unique]
    batch = "[" + ",".join(_row_json(row, json_columns) for row in unique) + "]"
    result = session.execute(text(_recordset_upsert_sql(table, columns, keys, update, returning, dialect)),
                             {"rows": batch})
    return list(result.scalars()) if returning is not None else []


def _bytea(value: bytes | None) -> str | None:
    return None if value is None else "\\x" + value.hex()


def _one_row_per_key(rows: Sequence[dict[str, Any]], keys: Sequence[str], *, last_wins: bool) -> list[dict[str, Any]]:
    by_key: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        key = tuple(row[k] for k in keys)
        if last_wins or key not in by_key:
            by_key[key] = row
    return list(by_key.values())


def _row_json(row: dict[str, Any], json_columns: tuple[str, ...]) -> str:
    """``row`` as a JSON object; values of JSON columns spliced in as their JSON text (``JsonText`` as is)."""
    plain = to_json({name: value for name, value in row.items() if name not in json_columns}).decode()
    spliced = [f"{to_json(name).decode()}:{_json_text(row[name])}" for name in json_columns]
    return "{" + ",".join([plain[1:-1], *spliced] if plain != "{}" else spliced) + "}"


def _json_text(value: Any) -> str:
    if value is None:
        return "null"
    return value if isinstance(value, JsonText) else to_json(value).decode()


@lru_cache(maxsize=256)
def _recordset_upsert_sql(
    table: Table, columns: tuple[str, ...], keys: tuple[str, ...], update: bool, returning: str | None,
    dialect: Dialect,
) -> str:
    quote = dialect.identifier_preparer.quote
    target = dialect.identifier_preparer.format_table(table)
    names = ", ".join(quote(name) for name in columns)
    changed = [name for name in columns if name not in keys]
    action = (
        "DO UPDATE SET " + ", ".join(f"{quote(name)} = EXCLUDED.{quote(name)}" for name in changed)
        if update and changed else "DO NOTHING"
    )
    tail = f" RETURNING {quote(returning)}" if returning is not None else ""
    return (f"INSERT INTO {target} ({names}) SELECT {names} FROM json_populate_recordset(NULL::{target}, "
            f"CAST(:rows AS json)) ON CONFLICT ({', '.join(quote(key) for key in keys)}) {action}{tail}")
