"""``sqlkit.upsert_rows`` and ``sqlkit.insert_new`` on SQLite (PostgreSQL:
tests/integration/test_postgres_lookups.py)."""

from __future__ import annotations

from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, select
from sqlalchemy.orm import Session

from profile_store.database import make_engine
from sqlkit import JsonText, insert_new, upsert_rows

METADATA = MetaData()
ITEMS = Table("items", METADATA, Column("key", String(64), primary_key=True), Column("count", Integer),
              Column("data", JSON))


def test_a_batch_upserts_as_its_rows_one_after_the_other_would(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    METADATA.create_all(engine)
    with Session(engine) as session, session.begin():
        upsert_rows(session, ITEMS, [{"key": "a", "count": 1, "data": JsonText('{"v":1}')},
                                     {"key": "a", "count": 2, "data": {"v": 2}}], ["key"])
        upsert_rows(session, ITEMS, [{"key": "a", "count": 3, "data": None},
                                     {"key": "b", "count": 4, "data": [4]},
                                     {"key": "b", "count": 5, "data": [5]}], ["key"], update=False)
    with Session(engine) as session:
        rows = {row.key: (row.count, row.data) for row in session.execute(select(ITEMS))}
    engine.dispose()
    assert rows == {"a": (2, {"v": 2}), "b": (4, [4])}


def test_insert_new_inserts_and_returns_only_the_keys_not_stored_yet(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    METADATA.create_all(engine)
    with Session(engine) as session, session.begin():
        first = insert_new(session, ITEMS, [{"key": "a", "count": 1}, {"key": "b", "count": 2}], "key")
        second = insert_new(session, ITEMS, [{"key": "b", "count": 20}, {"key": "c", "count": 3},
                                             {"key": "c", "count": 30}], "key")
        nothing = insert_new(session, ITEMS, [], "key")
    with Session(engine) as session:
        rows = {row.key: row.count for row in session.execute(select(ITEMS))}
    engine.dispose()
    assert (first, second, nothing) == ({"a", "b"}, {"c"}, set())
    assert rows == {"a": 1, "b": 2, "c": 3}
