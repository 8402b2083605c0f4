"""``scrm sql`` over the analyst door: the embedded data dir's chDB (in this process, which holds the
session's store), a data dir another process holds (it says so, and names ``--api``), and the API route.
Formats table, CSV, JSON and JSON lines; a refused or failed query exits non-zero with one line."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from analytics.analyst import AnalystDoor, AnalystDoorConfig, open_analyst_door
from analytics.writer import write_events
from api.app import install_access
from api.auth import Keyring
from api.routers import analytics
from scrm.cli import main
from scrm.commands.sql import EXIT, SqlCommandError, run_via_api
from streams.steps.analytics import event_row
from streams.storage import Storage, open_storage

AT = datetime(2026, 5, 4, 8, 0, tzinfo=UTC)
SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture
def storage(sqlite_url: str, chdb_storage_dsn: str) -> Iterator[Storage]:
    opened = open_storage(sqlite_url, chdb_storage_dsn)
    yield opened
    opened.close()


@pytest.fixture
def data_dir(chdb_storage_dsn: str) -> Path:
    return Path(chdb_storage_dsn.removeprefix("chdb://")).parent


@pytest.fixture
def brand(storage: Storage, enriched_factory) -> str:
    """A brand with two events: a negative post on weibo and a like on douyin."""
    name = f"sql-{uuid.uuid4().hex[:8]}"
    events = [enriched_factory(event_id=f"{name}-1", brand=name, text="bad, broken", label="negative", score=-0.5, at=AT),
              enriched_factory(event_id=f"{name}-2", brand=name, platform="douyin", kind="like", text=None, at=AT)]
    assert storage.analytics is not None
    write_events(storage.analytics, [event_row(e, ingested_at=AT) for e in events])
    return name


def _query(brand: str) -> str:
    return (f"SELECT platform, kind, sentiment_label AS label, occurred_at FROM events_current "
            f"WHERE brand = '{brand}' ORDER BY platform")


@pytest.mark.parametrize("fmt", ["table", "csv", "json", "jsonl"])
def test_a_query_prints_in_each_format(fmt, data_dir, brand, tmp_path, capsys):
    out = tmp_path / f"result.{fmt}"

    code = main(["sql", _query(brand), "--data-dir", str(data_dir), "--format", fmt, "--output", str(out)])

    assert code == 0, capsys.readouterr().err
    text = out.read_text()
    if fmt == "table":
        lines = text.splitlines()
        assert lines[0].split() == ["platform", "kind", "label", "occurred_at"]
        assert lines[2].split()[:2] == ["douyin", "like"] and lines[3].split()[:3] == ["weibo", "post", "negative"]
        assert lines[-1] == "(2 rows)"
    elif fmt == "csv":
        rows = list(csv.reader(io.StringIO(text)))
        assert rows[0] == ["platform", "kind", "label", "occurred_at"]
        assert [r[:3] for r in rows[1:]] == [["douyin", "like", ""], ["weibo", "post", "negative"]]
    else:
        objects = json.loads(text) if fmt == "json" else [json.loads(line) for line in text.splitlines()]
        assert [(o["platform"], o["label"]) for o in objects] == [("douyin", None), ("weibo", "negative")]
        assert objects[1]["occurred_at"].startswith("2026-05-04T08:00:00")


def test_a_refused_statement_exits_non_zero_with_one_line(data_dir, storage, capsys):
    code = main(["sql", "WITH 1 AS a INSERT INTO events SELECT a", "--data-dir", str(data_dir)])

    err = capsys.readouterr().err
    assert code == EXIT["refused"]
    assert err.count("\n") == 1 and err.startswith("scrm sql: refused:")


def test_a_query_with_a_mistake_exits_failed_with_the_reason(data_dir, storage, capsys):
    code = main(["sql", "SELECT no_such_column FROM events", "--data-dir", str(data_dir)])

    err = capsys.readouterr().err
    assert code == EXIT["failed"] and err.count("\n") == 1 and "no_such_column" in err and "Traceback" not in err


def test_a_data_dir_held_by_another_process_is_named_with_the_api_to_use_instead(data_dir, storage):
    """This test process holds the session's chDB store, as ``scrm serve`` would."""
    done = subprocess.run(
        [sys.executable, "-m", "scrm.cli", "sql", "SELECT 1", "--data-dir", str(data_dir)],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(SRC)}, timeout=120, check=False,
    )

    assert done.returncode == EXIT["store"]
    assert done.stderr.count("\n") == 1, done.stderr
    assert f"held by process {os.getpid()}" in done.stderr and "--api" in done.stderr


def test_a_missing_store_is_said_in_one_line(tmp_path, capsys):
    assert main(["sql", "SELECT 1", "--data-dir", str(tmp_path)]) == EXIT["store"]
    assert capsys.readouterr().err.startswith("scrm sql: no analytics store")


@pytest.fixture
def door(storage: Storage, chdb_storage_dsn: str) -> Iterator[AnalystDoor]:
    opened = open_analyst_door(chdb_storage_dsn, AnalystDoorConfig())
    yield opened
    opened.close()


def test_through_the_api_a_query_runs_and_a_refusal_keeps_its_reason(storage, door, brand):
    app = FastAPI()
    app.include_router(analytics.router)
    install_access(app, Keyring({"an-key": "analyst", "ag-key": "agent"}))
    app.state.analytics, app.state.analyst_door = storage.analytics, door
    http = TestClient(app)

    result = run_via_api("http://testserver", "an-key", _query(brand), http=http)
    assert [row[:3] for row in result.rows] == [["douyin", "like", None], ["weibo", "post", "negative"]]
    with pytest.raises(SqlCommandError) as refused:
        run_via_api("http://testserver", "an-key", "DROP TABLE events", http=http)
    assert refused.value.code == EXIT["refused"] and str(refused.value).startswith("refused:")
    with pytest.raises(SqlCommandError) as agent:
        run_via_api("http://testserver", "ag-key", "SELECT 1", http=http)
    assert agent.value.code == EXIT["refused"] and "analyst key" in str(agent.value)
