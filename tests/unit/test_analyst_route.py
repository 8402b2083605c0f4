"""``POST /v1/analytics/query`` over the analyst door on chDB: results, refusals, cuts and busy answers with
clear messages, and a client that goes away takes its query with it."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from analytics.analyst import AnalystDoor, AnalystDoorConfig, open_analyst_door
from analytics.client import AnalyticsClient
from analytics.exceptions import QueryCancelled
from api.app import install_access
from api.auth import Keyring
from api.routers import analytics
from streams.storage import Storage, open_storage

ENDLESS = "SELECT count() FROM system.numbers"
ANALYST, AGENT = "analyst-key", "agent-key"


@pytest.fixture
def storage(sqlite_url: str, chdb_storage_dsn: str) -> Iterator[Storage]:
    opened = open_storage(sqlite_url, chdb_storage_dsn)
    yield opened
    opened.close()


@pytest.fixture
def serve(storage: Storage, chdb_storage_dsn: str) -> Iterator[Callable[..., tuple[FastAPI, AnalystDoor]]]:
    """``serve(**limits)`` -> an app with the analytics routes and a door with those limits."""
    doors: list[AnalystDoor] = []

    def build(**limits: Any) -> tuple[FastAPI, AnalystDoor]:
        doors.append(open_analyst_door(chdb_storage_dsn, AnalystDoorConfig(**limits)))
        app = FastAPI()
        app.include_router(analytics.router)
        install_access(app, Keyring({ANALYST: "analyst", AGENT: "agent"}))
        app.state.analytics = storage.analytics
        app.state.analyst_door = doors[-1]
        return app, doors[-1]

    yield build
    for door in doors:
        door.close()


def _post(app: FastAPI, sql: str, key: str = ANALYST, **extra: Any) -> Any:
    return TestClient(app).post("/v1/analytics/query", json={"sql": sql, **extra}, headers={"X-API-Key": key})


def _analyst_queries(client: AnalyticsClient) -> int:
    _, rows = client.query("SELECT count() FROM system.processes WHERE startsWith(query, '/* scrm-analyst:')")
    return int(rows[0][0])


def _wait_for_analyst_query(client: AnalyticsClient) -> None:
    for _ in range(10_000):
        if _analyst_queries(client):
            return
    pytest.fail("the analyst query never showed up in system.processes")


def test_a_select_answers_columns_rows_and_whether_it_was_cut(serve):
    app, _ = serve(max_result_rows=50)

    answer = _post(app, "WITH 2 AS x SELECT x * 21 AS answer")
    cut = _post(app, "SELECT number FROM system.numbers", max_rows=5)

    assert answer.status_code == 200
    assert answer.json() == {"columns": ["answer"], "rows": [[42]], "truncated": False}
    assert cut.json() == {"columns": ["number"], "rows": [[0], [1], [2], [3], [4]], "truncated": True}


def test_refusals_cuts_and_mistakes_come_back_as_clear_messages(serve):
    app, _ = serve(max_execution_time_s=1, max_rows_to_read=0)

    refused = _post(app, "SELECT * FROM file('/etc/passwd')")
    written = _post(app, "WITH 1 AS a INSERT INTO scrm.events (event_key) SELECT toString(a)")
    cut = _post(app, ENDLESS)
    mistake = _post(app, "SELECT nope FROM events")

    assert refused.status_code == written.status_code == 400
    assert refused.json()["detail"].startswith("refused: table function file() reaches outside")
    assert written.json()["detail"].startswith("refused: only one SELECT/WITH/EXPLAIN/SHOW/DESCRIBE statement")
    assert cut.status_code == 422 and cut.json()["detail"].startswith("cut: the query ran past its 1 s limit")
    assert mistake.status_code == 400 and mistake.json()["detail"].startswith("failed: UNKNOWN_IDENTIFIER: ")
    assert "DB::Exception" not in json.dumps([r.json() for r in (refused, written, cut, mistake)])


def test_only_analysts_may_query_and_without_clickhouse_the_door_is_503(serve):
    app, _ = serve()
    assert _post(app, "SELECT 1", key=AGENT).status_code == 403
    app.state.analyst_door = None
    assert _post(app, "SELECT 1").status_code == 503


def test_a_query_beyond_the_cap_is_answered_429_at_once(serve, storage):
    app, door = serve(concurrency=1, max_execution_time_s=120, max_rows_to_read=0)
    holder = door.prepare(ENDLESS)
    outcome: list[Exception] = []

    def hold() -> None:
        try:
            holder.run()
        except Exception as exc:
            outcome.append(exc)

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    _wait_for_analyst_query(storage.analytics)

    busy = _post(app, "SELECT 1")
    holder.cancel()
    thread.join(timeout=60)

    assert busy.status_code == 429 and busy.headers["Retry-After"] == "1"
    assert busy.json()["detail"].startswith("busy: 1 analyst queries are already running")
    assert [type(error) for error in outcome] == [QueryCancelled]


def test_a_client_that_goes_away_cancels_its_query(serve, storage):
    app, _ = serve(max_execution_time_s=120, max_rows_to_read=0)
    body = json.dumps({"sql": ENDLESS}).encode()
    sent: list[dict[str, Any]] = []
    received = 0

    async def receive() -> dict[str, Any]:
        nonlocal received
        received += 1
        if received == 1:
            return {"type": "http.request", "body": body, "more_body": False}
        await anyio.to_thread.run_sync(_wait_for_analyst_query, storage.analytics)
        return {"type": "http.disconnect"}  # the client hangs up while its query runs

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/v1/analytics/query", "raw_path": b"/v1/analytics/query", "query_string": b"", "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"x-api-key", ANALYST.encode()),
                    (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
    }

    anyio.run(app, scope, receive, send)

    assert sent[0]["status"] == analytics.CLIENT_CLOSED_REQUEST
    assert json.loads(sent[1]["body"])["detail"].startswith("cancelled: ")
    assert _analyst_queries(storage.analytics) == 0
    assert _post(app, "SELECT 1 AS one").json()["rows"] == [[1]]
