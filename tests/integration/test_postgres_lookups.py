"""Batch reads and writes on a real PostgreSQL: ``sqlkit.any_of``, the engine's planning of lookups,
``sqlkit.upsert_rows``, ``sqlkit.insert_new``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    insert,
    select,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from profile_store.database import make_engine
from sqlkit import JsonText, any_of, insert_new, upsert_rows

pytestmark = pytest.mark.integration

METADATA = MetaData()
ACCOUNTS = Table("accounts", METADATA, Column("key", String(600), primary_key=True), Column("owner", String(64)))


@pytest.fixture
def engine(fresh_database_url: str) -> Iterator[Engine]:
    engine = make_engine(fresh_database_url)
    METADATA.create_all(engine)
    yield engine
    engine.dispose()


def _owners(session: Session, keys: list[str]) -> dict[str, str]:
    query = select(ACCOUNTS.c.key, ACCOUNTS.c.owner).where(any_of(ACCOUNTS.c.key, keys, session=session))
    return {key: owner for key, owner in session.execute(query)}


def test_any_of_finds_exactly_the_rows_in_the_list_with_one_sql_text_for_every_list_length(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        session.execute(insert(ACCOUNTS), [{"key": f"weibo:{n}", "owner": f"c-{n % 7}"} for n in range(50)])
    with Session(engine) as session:
        assert _owners(session, ["weibo:3"]) == {"weibo:3": "c-3"}
        assert _owners(session, ["weibo:3", "weibo:48", "douyin:3", "weibo:'; drop table accounts; --"]) == {
            "weibo:3": "c-3", "weibo:48": "c-6"}
        assert len(_owners(session, [f"weibo:{n}" for n in range(0, 100, 2)])) == 25

        def sql(count: int) -> str:
            statement = select(ACCOUNTS.c.key).where(any_of(ACCOUNTS.c.key, [str(n) for n in range(count)], session=session))
            return str(statement.compile(dialect=postgresql.psycopg.dialect()))

        assert sql(1) == sql(1000), "one statement text, so psycopg prepares it once"


def test_repeated_lookups_are_planned_with_their_actual_keys_never_with_a_cached_generic_plan(engine: Engine) -> None:
    """psycopg prepares a statement after five runs; with PostgreSQL's default plan cache mode a generic plan
    made while ``identities`` was small (a sequential scan comparing every row with every key of the
    array) then stays in use: 130-260 ms per 1,000-key lookup in 6,000 rows, measured in the alert
    benchmark. The engine asks for custom plans, also after a rolled-back transaction."""
    with Session(engine) as session:
        session.execute(text("SELECT 1"))
        session.rollback()
        for round_ in range(12):
            if round_ == 6:
                session.execute(insert(ACCOUNTS), [{"key": f"weibo:{n}", "owner": f"c-{n}"} for n in range(20_000)])
                session.commit()
            assert len(_owners(session, [f"weibo:{n}" for n in range(0, 2000, 2)])) == (1000 if round_ >= 6 else 0)
            session.commit()
        generic, custom = session.execute(text(
            "SELECT coalesce(sum(generic_plans), 0), coalesce(sum(custom_plans), 0) FROM pg_prepared_statements"
            " WHERE statement LIKE 'SELECT %accounts%'"
        )).one()
    assert custom > 0, "psycopg prepared the lookup"
    assert generic == 0


EVENTS = Table(
    "events", METADATA,
    Column("key", String(64), primary_key=True),
    Column("at", DateTime(timezone=True)),
    Column("score", Float),
    Column("count", Integer),
    Column("data", JSON),
)


def test_upsert_rows_writes_a_batch_as_upserting_its_rows_one_after_the_other_would(engine: Engine) -> None:
    at = datetime(2026, 11, 24, 4, 50, 0, 123456, tzinfo=UTC)
    profile_json = JsonText('{"b":[1,2,{"c":"中"}],"s":"q\\"x","n":null}')
    with Session(engine) as session, session.begin():
        upsert_rows(session, EVENTS, [
            {"key": "a", "at": at, "score": 1.5, "count": 1, "data": profile_json},
            {"key": "b", "at": None, "score": None, "count": None, "data": {"nested": ["x", 2]}},
            {"key": "a", "at": at, "score": 2.5, "count": 2, "data": None},  # same key again: the last one wins
        ], ["key"])
        upsert_rows(session, EVENTS, [
            {"key": "b", "at": at, "score": 9.0, "count": 9, "data": None},  # insert-only: b is kept
            {"key": "c", "at": at, "score": 3.0, "count": 3, "data": [1]},
            {"key": "c", "at": at, "score": 4.0, "count": 4, "data": [2]},  # insert-only: the first one wins
        ], ["key"], update=False)
        upsert_rows(session, EVENTS, [{"key": "d", "at": at, "score": 0.0, "count": 0, "data": profile_json}], ["key"])
    with engine.connect() as connection:
        rows = {row.key: row for row in connection.execute(
            text("SELECT key, at, score, count, data::text AS data FROM events ORDER BY key"))}
    assert (rows["a"].at, rows["a"].score, rows["a"].count, rows["a"].data) == (at, 2.5, 2, None)
    assert (rows["b"].at, rows["b"].score, rows["b"].count, rows["b"].data) == (None, None, None, '{"nested":["x",2]}')
    assert (rows["c"].score, rows["c"].data) == (3.0, "[1]")
    assert rows["d"].data == profile_json, "JSON text stored verbatim (the profile cache compares it)"


def test_insert_new_returns_the_keys_it_inserted_and_a_key_in_flight_goes_to_one_transaction_only(
    engine: Engine,
) -> None:
    with Session(engine) as session, session.begin():
        assert insert_new(session, ACCOUNTS, [{"key": "a", "owner": "first"}], "key") == {"a"}
    first, second = Session(engine), Session(engine)
    try:
        claimed_first = insert_new(first, ACCOUNTS, [{"key": k, "owner": "first"} for k in ("a", "b", "c", "b")], "key")
        with ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(insert_new, second, ACCOUNTS, [{"key": k, "owner": "second"} for k in ("c", "d")], "key")
            time.sleep(0.5)
            assert not waiting.done(), "a key another open transaction inserted waits for that transaction"
            first.commit()
            claimed_second = waiting.result(timeout=10)
        second.commit()
    finally:
        first.close()
        second.close()
    assert (claimed_first, claimed_second) == ({"b", "c"}, {"d"})
    with Session(engine) as session:
        assert _owners(session, ["a", "b", "c", "d"]) == {"a": "first", "b": "first", "c": "first", "d": "second"}


def test_dead_letters_with_bytes_that_are_not_utf8_are_stored_once_on_postgresql(engine: Engine) -> None:
    from datetime import UTC, datetime

    from sqlalchemy.orm import sessionmaker

    from ingest.deadletter import DeadLetter
    from ingest.deadletter_store import list_dead_letters, record_dead_letters
    from streams.migrate import upgrade

    upgrade(engine)
    letter = DeadLetter(original=b"\xff\xfe not json \x00", key=b"\x80", error="<payload>: not valid UTF-8",
                        stage="decode", source_topic="scrm.events.raw", partition=1, offset=9,
                        failed_at=datetime(2026, 12, 1, tzinfo=UTC))
    sessions = sessionmaker(engine)
    with sessions() as session, session.begin():
        assert record_dead_letters([letter, letter], session=session) == 1
    with sessions() as session, session.begin():
        assert record_dead_letters([letter], session=session) == 0, "a redelivered dead letter is stored once"
    with sessions() as session:
        stored = [d for d in list_dead_letters(session=session) if d.offset == 9 and d.partition == 1]
    assert [(d.original, d.key) for d in stored] == [(letter.original, letter.key)]
