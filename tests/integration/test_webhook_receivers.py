"""Signed platform deliveries posted over HTTP to the real processes — ``scrm api`` with ``scrm worker`` on the
Kafka runtime (PostgreSQL), and ``scrm serve`` (embedded) — become profiles; a bad signature is refused and
stores nothing; a platform's retry counts once; and ``scrm serve`` killed with SIGKILL right after answering
200 loses nothing: its intake journal feeds the deliveries to the pipeline when it starts again.

Deliveries are the simulator's native renderings (``ingest.simulator.native``): WeChat 公众号 safe-mode XML,
Meta Page ``feed`` changes with ``X-Hub-Signature-256``, Douyin ``item_comment_reply`` with
``X-Douyin-Signature``, each signed with the connectors file's secrets.
"""

from __future__ import annotations

import itertools
import os
import signal
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from workers import Served, Worker, wait_for, worker_env

from ingest.contracts import EventKind, Platform, SocialEvent
from ingest.simulator import SimulatorConfig, simulate_events
from ingest.simulator.native import DemoConnectors, NativeRequest, native_request
from streams.admin import ensure_topics
from streams.intake_journal import count_journalled
from streams.storage import open_storage

ADMIN = "it-admin-key"
BRAND = "acme"


def _deliveries(connectors: DemoConnectors, count: int) -> list[tuple[SocialEvent, NativeRequest]]:
    """``count`` distinct deliveries, spread over the three push platforms, signed now."""
    now = datetime.now(UTC)
    platforms = itertools.cycle([(Platform.WECHAT, EventKind.CHAT_MESSAGE), (Platform.FACEBOOK, EventKind.COMMENT),
                                 (Platform.DOUYIN, EventKind.COMMENT)])
    out = []
    events = simulate_events(SimulatorConfig(seed=21, brands=(BRAND,), start=now, customers=200))
    for n, event in enumerate(e for e in events if e.text):
        platform, kind = next(platforms)
        event = event.model_copy(update={"platform": platform, "kind": kind, "brand": BRAND,
                                         "author": event.author.model_copy(update={"id": f"{platform.value}-it-{n}"}),
                                         "identity_hints": type(event.identity_hints)()})
        native = native_request(event, {BRAND: connectors}, sent_at=now, nonce=n.to_bytes(16, "big"))
        assert native is not None
        out.append((event, native))
        if len(out) == count:
            return out
    raise AssertionError("the simulator ran dry")


def _post(base: str, native: NativeRequest, *, body: bytes | None = None) -> httpx.Response:
    request = native.request
    return httpx.post(f"{base}/v1/ingest/webhooks/{native.connector}", params=dict(request.query),
                      headers=dict(request.headers), content=request.body if body is None else body, timeout=30)


def _profile(base: str, identity: str) -> dict | None:
    answer = httpx.get(f"{base}/v1/profiles", params={"identity": identity}, headers={"X-API-Key": ADMIN}, timeout=30)
    answer.raise_for_status()
    found = answer.json()
    return found[0] if found else None


@pytest.fixture
def connectors(tmp_path: Path) -> Iterator[tuple[DemoConnectors, Path]]:
    demo = DemoConnectors.create(BRAND, os.urandom(32))
    path = tmp_path / "connectors.toml"
    path.write_text(demo.connectors_toml())
    yield demo, path


def _check_deliveries(base: str, demo: DemoConnectors, wait_profile: Callable[[str], object]) -> None:
    deliveries = _deliveries(demo, 9)
    for _, native in deliveries:
        assert _post(base, native).status_code == 200
    first = deliveries[0][1]
    assert _post(base, first).status_code == 200, "a platform's retry is answered like the first delivery"
    forged = next(n for e, n in deliveries if e.platform is Platform.FACEBOOK)
    refused = _post(base, forged, body=forged.request.body.replace(b"comment", b"COMMENT"))
    assert refused.status_code == 401

    for event, _ in deliveries:
        wait_profile(event.identity_key)
    health = httpx.get(f"{base}/v1/connectors", headers={"X-API-Key": ADMIN}, timeout=30).json()
    by_name = {c["name"]: c for c in health}
    assert by_name[demo.meta.name]["signature_failures"] == 1
    assert sum(c["events"] for c in by_name.values()) == 10, "nine deliveries and one retry, each taken in"


def test_signed_deliveries_to_scrm_api_on_kafka_become_profiles_in_postgresql(
    kafka_bootstrap, fresh_database_url, connectors, tmp_path
):
    demo, path = connectors
    ensure_topics(kafka_bootstrap, 4)
    env = worker_env(kafka_bootstrap, fresh_database_url, 4, SCRM_API_KEYS=f"{ADMIN}:admin")
    worker = Worker(env, tmp_path / "worker.log")
    api = Served(["api", "--connectors", str(path)], env, tmp_path / "api.log")
    try:
        _check_deliveries(api.base, demo, lambda identity: wait_for(
            f"the profile of {identity}", lambda: _profile(api.base, identity), 180, [worker]))

        def pipeline() -> dict | None:  # the worker's lanes, as the API reads them from their heartbeats
            status = httpx.get(f"{api.base}/v1/status", headers={"X-API-Key": ADMIN}, timeout=30).json()
            found = status["pipeline"]
            return found if found and found["processed"] >= 9 else None

        summary = wait_for("the worker's lanes in /v1/status", pipeline, 60, [worker])
        assert summary["workers"] == 1 and {"enrich", "apply", "alert"} <= set(summary["lanes"])
        assert httpx.get(f"{api.base}/readyz", timeout=30).status_code == 200
        worker.stop()
        assert httpx.get(f"{api.base}/v1/status", headers={"X-API-Key": ADMIN}, timeout=30).json()["pipeline"] is None
    finally:
        api.stop()
        worker.stop()


def test_scrm_serve_takes_signed_deliveries_and_keeps_them_across_a_sigkill(connectors, tmp_path):
    demo, path = connectors
    env = {**os.environ, "SCRM_API_KEYS": f"{ADMIN}:admin", "HF_HUB_OFFLINE": "1"}
    data = tmp_path / "data"
    serve = Served(["serve", "--data-dir", str(data), "--connectors", str(path)], env, tmp_path / "serve.log")
    try:
        def wait_profile(identity: str) -> dict:
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:
                if (found := _profile(serve.base, identity)) is not None:
                    return found
                assert serve.process.poll() is None, serve.tail()
                time.sleep(0.3)
            pytest.fail(f"no profile for {identity}:\n{serve.tail()}")

        _check_deliveries(serve.base, demo, wait_profile)
        serve.stop()

        # The pipeline holds what it takes for a minute (a long batch window), so the deliveries answered 200
        # are still only in the journal when the process is killed.
        held = {**env, "SCRM_PIPELINE__BATCH_MAX_MS": "60000", "SCRM_PIPELINE__BATCH_SIZE": "10000"}
        serve = Served(["serve", "--data-dir", str(data), "--connectors", str(path)], held, tmp_path / "serve2.log")
        late = _deliveries(demo, 15)[9:]
        for _, native in late:
            assert _post(serve.base, native).status_code == 200
        serve.stop(signal.SIGKILL)
        storage = open_storage(f"sqlite:///{data / 'scrm.sqlite'}", None)
        with storage.session_factory() as session:
            left = count_journalled(session=session)
        storage.close()
        assert left > 0, "the killed process left answered deliveries in its journal"
        serve = Served(["serve", "--data-dir", str(data), "--connectors", str(path)], env, tmp_path / "serve3.log")
        for event, _ in late:
            wait_profile(event.identity_key)
    finally:
        serve.stop()
