"""The analyst door on chDB (the session's single chDB path, shared with the pipeline's client as in the
embedded runtime): every attack is refused or cut, the limits hold and cannot be lifted, the cap answers busy,
a running query can be cancelled, and the pipeline's session stays writable throughout."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from itertools import count
from typing import Any

import pytest

from analytics.analyst import (
    AnalystDoor,
    AnalystDoorConfig,
    AnalystQuery,
    open_analyst_door,
    session_settings,
)
from analytics.client import AnalyticsClient
from analytics.exceptions import DoorBusy, QueryCancelled, QueryCut, QueryFailed, QueryRefused
from analytics.writer import write_events
from api.settings import ApiSettings
from streams.settings import EmbeddedSettings
from streams.steps.analytics import event_row
from streams.storage import Storage, open_storage

AT = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
_ids = count()
ENDLESS = "SELECT count() FROM system.numbers"


@pytest.fixture
def storage(sqlite_url: str, chdb_storage_dsn: str) -> Iterator[Storage]:
    opened = open_storage(sqlite_url, chdb_storage_dsn)
    yield opened
    opened.close()


@pytest.fixture
def pipeline(storage: Storage) -> AnalyticsClient:
    """The pipeline's own client (the one the writer inserts through)."""
    assert storage.analytics is not None
    return storage.analytics


@pytest.fixture
def open_door(storage: Storage, chdb_storage_dsn: str) -> Iterator[Callable[..., AnalystDoor]]:
    """``open_door(**limits)`` -> a door on the same chDB path as the pipeline, closed after the test."""
    doors: list[AnalystDoor] = []

    def build(**limits: Any) -> AnalystDoor:
        doors.append(open_analyst_door(chdb_storage_dsn, AnalystDoorConfig(**limits)))
        return doors[-1]

    yield build
    for door in doors:
        door.close()


def _brand_count(client: AnalyticsClient, brand: str) -> int:
    _, rows = client.query(
        "SELECT count() FROM scrm.events FINAL WHERE brand = {brand:String}", parameters={"brand": brand}
    )
    return int(rows[0][0])


def _write(client: AnalyticsClient, enriched_factory: Any, brand: str, n: int = 1) -> None:
    events = [enriched_factory(event_id=f"door-{next(_ids)}", brand=brand, at=AT) for _ in range(n)]
    write_events(client, [event_row(e, ingested_at=AT) for e in events])


def assert_pipeline_writable(client: AnalyticsClient, enriched_factory: Any) -> None:
    brand = f"brand-door-writable-{next(_ids)}"
    _write(client, enriched_factory, brand, n=2)
    assert _brand_count(client, brand) == 2
    assert client.query("SELECT getSetting('readonly')")[1] == [(0,)]


def _running(client: AnalyticsClient, marker: str) -> bool:
    _, rows = client.query(
        "SELECT count() FROM system.processes WHERE startsWith(query, {m:String})", parameters={"m": marker}
    )
    return int(rows[0][0]) > 0


def _wait_until_running(client: AnalyticsClient, query: AnalystQuery, thread: threading.Thread) -> None:
    """Wait for the cause (the engine lists the query), bounded so a broken door fails instead of hanging."""
    for _ in range(10_000):
        if _running(client, query.marker):
            return
        assert thread.is_alive(), "the analyst query ended before it was seen running"
    pytest.fail("the analyst query never showed up in system.processes")


def _in_thread(query: AnalystQuery) -> tuple[threading.Thread, list[object]]:
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(query.run())
        except Exception as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


ATTACKS = [
    ("WITH 1 AS a INSERT INTO scrm.events (event_key) SELECT toString(a)", "not INSERT"),
    ("INSERT INTO scrm.events (event_key) VALUES ('x')", "not INSERT"),
    ("ALTER TABLE scrm.events DELETE WHERE 1", "not ALTER"),
    ("DROP TABLE scrm.events", "not DROP"),
    ("SELECT 1; DROP TABLE scrm.events", "this text has 2"),
    ("SELECT * FROM file('/etc/passwd', 'LineAsString')", "table function file() reaches outside"),
    ("SELECT file('/etc/passwd')", "function file() reads outside"),
    ("SELECT * FROM url('http://127.0.0.1:9/x', 'CSV', 'a String')", "table function url() reaches outside"),
    ("SELECT * FROM remote('127.0.0.1', system.one)", "table function remote() reaches outside"),
    ("SELECT * FROM s3('http://127.0.0.1:9/bucket/key', 'CSV')", "table function s3() reaches outside"),
    ("SELECT * FROM executable('ls', 'TSV', 'a String')", "table function executable() reaches outside"),
    ("SELECT * FROM scrm.events INTO OUTFILE '/tmp/scrm-door-leak.csv'", "INTO OUTFILE is not allowed"),
    ("SELECT 1 SETTINGS readonly = 0", "SETTINGS clauses are not allowed"),
    ("SELECT query FROM system.processes", "system.processes is outside the analytics database"),
]


@pytest.mark.parametrize(("sql", "says"), ATTACKS)
def test_every_attack_is_refused_and_the_pipeline_session_stays_writable(
    open_door, pipeline, enriched_factory, sql, says
):
    door = open_door()
    events_before = _brand_count(pipeline, "")  # no event has an empty brand: a write would change nothing here

    with pytest.raises(QueryRefused, match="^refused: ") as refused:
        door.prepare(sql).run()

    assert says in str(refused.value)
    assert _brand_count(pipeline, "") == events_before
    assert_pipeline_writable(pipeline, enriched_factory)
    assert door.prepare("SELECT 41 + 1 AS answer").run().rows == [[42]]


@pytest.mark.parametrize(
    "sql",
    [
        "INSERT INTO scrm.events (event_key) VALUES ('bypass')",
        "WITH 1 AS a INSERT INTO scrm.events (event_key) SELECT 'bypass'",
        "SELECT 1 SETTINGS max_execution_time = 3600",
        "SELECT * FROM url('http://127.0.0.1:9/x', 'CSV', 'a String')",
    ],
)
def test_sql_that_got_past_the_guard_still_meets_a_read_only_session(open_door, pipeline, enriched_factory, sql):
    door = open_door(max_execution_time_s=7)
    bypass = AnalystQuery(door, sql, marker="", max_rows=10)  # as if the guard had admitted it

    with pytest.raises(QueryRefused, match="the analyst door is read-only"):
        bypass.run()

    limits = door.prepare("SELECT getSetting('readonly'), getSetting('max_execution_time')").run()
    assert limits.rows == [[1, 7.0]]
    assert _brand_count(pipeline, "") == 0
    assert_pipeline_writable(pipeline, enriched_factory)


def test_a_huge_result_is_cut_at_max_result_rows(open_door, pipeline, enriched_factory):
    door = open_door(max_result_rows=100)

    endless = door.prepare("SELECT number FROM system.numbers").run()
    fewer = door.prepare("SELECT number FROM system.numbers", max_rows=10).run()
    exact = door.prepare("SELECT number FROM numbers(100)").run()

    assert (len(endless.rows), endless.truncated, endless.rows[:2]) == (100, True, [[0], [1]])
    assert (len(fewer.rows), fewer.truncated) == (10, True)
    assert (len(exact.rows), exact.truncated) == (100, False)
    assert_pipeline_writable(pipeline, enriched_factory)


def test_an_endless_query_is_cut_at_its_time_limit_while_the_pipeline_keeps_writing(
    open_door, pipeline, enriched_factory
):
    door = open_door(max_execution_time_s=1, max_rows_to_read=0)
    query = door.prepare(ENDLESS)
    thread, outcome = _in_thread(query)
    _wait_until_running(pipeline, query, thread)
    brand = f"brand-door-meanwhile-{next(_ids)}"
    written = written_while_running = 0

    while _running(pipeline, query.marker) and written < 1000:
        _write(pipeline, enriched_factory, brand)
        written += 1
        written_while_running += _running(pipeline, query.marker)  # the analyst query outlived this insert
    thread.join(timeout=60)

    assert written_while_running >= 1, "the writer waited for the analyst query"
    assert _brand_count(pipeline, brand) == written
    [error] = outcome
    assert isinstance(error, QueryCut) and error.limit == "time"
    assert str(error).startswith("cut: the query ran past its 1 s limit")
    assert_pipeline_writable(pipeline, enriched_factory)


def test_reading_too_many_rows_or_too_much_memory_is_cut(open_door, pipeline, enriched_factory):
    few_rows = open_door(max_rows_to_read=1000, concurrency=1)
    little_memory = open_door(max_memory_usage_bytes=10_000_000, concurrency=1)

    with pytest.raises(QueryCut, match="read more than 1,000 rows") as rows:
        few_rows.prepare("SELECT count() FROM numbers(100000)").run()
    with pytest.raises(QueryCut, match="more than its 9.537 MiB of memory") as memory:
        little_memory.prepare("SELECT groupArray(number) FROM numbers(10000000)").run()

    assert (rows.value.limit, memory.value.limit) == ("rows_to_read", "memory")
    assert_pipeline_writable(pipeline, enriched_factory)


def test_more_queries_than_slots_are_answered_busy_and_running_ones_can_be_cancelled(
    open_door, pipeline, enriched_factory
):
    door = open_door(concurrency=2, max_execution_time_s=120, max_rows_to_read=0)
    first, second = door.prepare(ENDLESS), door.prepare(ENDLESS)
    runs = [(_in_thread(query), query) for query in (first, second)]
    for (thread, _), query in runs:
        _wait_until_running(pipeline, query, thread)

    with pytest.raises(DoorBusy, match="^busy: 2 analyst queries are already running"):
        door.prepare("SELECT 1").run()
    assert_pipeline_writable(pipeline, enriched_factory)
    for _, query in runs:
        query.cancel()
    for (thread, outcome), _ in runs:
        thread.join(timeout=60)
        assert [type(error) for error in outcome] == [QueryCancelled]

    assert str(outcome[0]).startswith("cancelled: ")
    assert door.prepare("SELECT 1 AS one").run().rows == [[1]]
    assert not _running(pipeline, first.marker) and not _running(pipeline, second.marker)


def test_a_query_cancelled_before_it_runs_never_starts(open_door):
    door = open_door()
    query = door.prepare("SELECT 1")
    query.cancel()
    with pytest.raises(QueryCancelled):
        query.run()
    assert door.prepare("SELECT 2 AS two").run().rows == [[2]]


def test_show_describe_explain_and_unqualified_tables_run(open_door, pipeline, enriched_factory):
    door = open_door()
    _write(pipeline, enriched_factory, "brand-door-kinds")

    tables = door.prepare("SHOW TABLES").run()
    columns = door.prepare("DESCRIBE events").run()
    plan = door.prepare("EXPLAIN SELECT count() FROM events WHERE brand = 'x'").run()
    counted = door.prepare("SELECT count() FROM events FINAL WHERE brand = 'brand-door-kinds'").run()

    assert ["events"] in tables.rows
    assert "event_key" in [row[0] for row in columns.rows]
    assert plan.columns == ["explain"] and plan.rows
    assert counted.rows == [[1]]


def test_a_mistake_is_named_without_server_internals(open_door):
    door = open_door()
    with pytest.raises(QueryFailed) as failed:
        door.prepare("SELECT no_such_column FROM events").run()
    message = str(failed.value)
    assert message.startswith("failed: UNKNOWN_IDENTIFIER: ")
    assert "no_such_column" in message
    for internal in ("DB::Exception", "version", "Stack trace", "scrm-analyst", "Code:", "/tmp"):
        assert internal not in message


def test_the_limits_come_from_each_deployables_settings_and_read_only_comes_last(monkeypatch, open_door):
    monkeypatch.setenv("SCRM_ANALYST__MAX_EXECUTION_TIME_S", "5")
    monkeypatch.setenv("SCRM_ANALYST__MAX_THREADS", "1")
    monkeypatch.setenv("SCRM_ANALYST__CONCURRENCY", "3")
    configs = [ApiSettings().analyst, EmbeddedSettings().analyst]
    assert {(c.max_execution_time_s, c.max_threads, c.concurrency) for c in configs} == {(5.0, 1, 3)}
    assert AnalystDoorConfig().max_execution_time_s == 30.0 and AnalystDoorConfig().concurrency == 2
    assert list(session_settings(configs[0]))[-1] == "readonly"

    door = open_door(**configs[0].model_dump())
    seen = door.prepare("SELECT getSetting('max_execution_time'), getSetting('max_threads'), getSetting('readonly')")

    assert seen.run().rows == [[5.0, 1, 1]]
