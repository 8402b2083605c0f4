"""The pollers against local HTTP stand-ins of the X, Reddit, YouTube and Weibo APIs
(``ingest.simulator.polled``: the documented request and answer shapes, real paging, credentials checked),
run as the real processes: ``scrm poll --kafka`` with ``scrm worker`` on Kafka and PostgreSQL, and
``scrm poll --data-dir`` on the embedded runtime; ``scrm serve`` polling on its connectors' intervals and
showing their health, and ``scrm demo`` polling X and Reddit from its own stand-ins. Pages are small so every listing spans several; a 429 and
a 500 are answered on the way; a poller is SIGKILLed while it waits for a page in the middle of a drain,
and the next run resumes there. Every published item arrives exactly once: the stored events are exactly
the ids the stand-ins said their adapters give.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from workers import Served, Worker, wait_for, worker_env

from ingest.simulator import SimulatorConfig, simulate_events
from ingest.simulator.polled import PlatformStandIns
from profile_store.database import make_engine
from streams.admin import ensure_topics

ADMIN = "it-admin-key"
BRAND = "acme"
PLATFORMS = ("x", "reddit", "youtube", "weibo")
PAGE_SIZES = {"x": "max_results = 10", "reddit": "limit = 5", "youtube": "max_results = 5", "weibo": "count = 5"}


def _listed(standins: PlatformStandIns, platform: str, count: int, *, seed: int) -> set[str]:
    """Publish simulated events of ``platform`` for the brand until its listings carry ``count`` items;
    the event ids the adapters will make of them."""
    start = datetime.now(UTC) - timedelta(hours=2)
    found: list[str] = []
    for event in simulate_events(SimulatorConfig(seed=seed, brands=(BRAND,), start=start, customers=300)):
        if event.platform.value == platform and event.brand == BRAND:
            found.extend(standins.publish([event]))
            if len(found) >= count:
                return set(found)
    raise AssertionError(f"the simulator ran dry of {platform} events")


def _connectors_file(standins: PlatformStandIns, path: Path) -> Path:
    """The stand-ins' connectors with small pages (several per drain)."""
    lines = []
    for line in standins.connectors_toml(BRAND, PLATFORMS).splitlines():
        lines.append(line)
        if line.startswith("platform = "):
            lines.append(PAGE_SIZES[line.split('"')[1]])
    path.write_text("\n".join(lines) + "\n")
    return path


def _poll(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "scrm.cli", "poll", *args], env=env, stdout=log.open("ab"),
                            stderr=subprocess.STDOUT)


def _finished(process: subprocess.Popen[bytes], log: Path) -> None:
    try:
        code = process.wait(timeout=300)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail(f"scrm poll did not finish:\n{log.read_text(errors='replace')[-4000:]}")
    assert code == 0, f"scrm poll exited {code}:\n{log.read_text(errors='replace')[-4000:]}"


def _stored(database_url: str) -> dict[str, set[str]]:
    """The ids of every stored event the stand-ins' connectors delivered, by platform (the broker is shared
    with other tests, whose events on the same platforms a fresh consumer group reads too)."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT post_key, data FROM profile_events")).all()
    finally:
        engine.dispose()
    found: dict[str, set[str]] = {}
    for key, data in rows:
        event = (json.loads(data) if isinstance(data, str) else data)["event"]
        if event["source"].startswith("standin-"):
            platform, _, event_id = key.partition(":")
            found.setdefault(platform, set()).add(event_id)
    return found


@pytest.fixture
def standins() -> Iterator[PlatformStandIns]:
    with PlatformStandIns() as started:
        yield started


def _publish(standins: PlatformStandIns, count: int, seed: int) -> dict[str, set[str]]:
    return {platform: _listed(standins, platform, count, seed=seed) for platform in PLATFORMS}


def _run_with_faults_and_a_kill(standins: PlatformStandIns, args: list[str], env: dict[str, str],
                                tmp_path: Path) -> None:
    """One poll run answered a 429 and a 500 on the way and SIGKILLed while it waits for X's third page,
    then a run that resumes."""
    standins.fail("x", 429)
    standins.fail("reddit", 429, headers={"x-ratelimit-reset": "1", "x-ratelimit-remaining": "0"})
    standins.fail("youtube", 500)
    standins.fail("weibo", 500)
    held = standins.hold("x", page=3)
    log = tmp_path / "poll.log"
    killed = _poll(args, env, log)
    try:
        while not held.arrived.wait(0.2):
            assert killed.poll() is None, f"the poller never asked for X's third page:\n{log.read_text()[-4000:]}"
        killed.send_signal(signal.SIGKILL)
        killed.wait(timeout=60)
    finally:
        held.release()
    before = len(standins.requests)
    _finished(_poll(args, env, log), log)
    resumed = next(r for r in standins.requests[before:] if r.platform == "x" and r.path.endswith("/search/recent"))
    assert "next_token" in resumed.params, "the restarted poller resumes the drain at the page it was killed on"


def test_poll_on_kafka_delivers_every_item_exactly_once_through_faults_and_a_kill(
    kafka_bootstrap, fresh_database_url, standins, tmp_path
):
    expected = _publish(standins, 23, seed=31)
    path = _connectors_file(standins, tmp_path / "connectors.toml")
    ensure_topics(kafka_bootstrap, 4)
    env = worker_env(kafka_bootstrap, fresh_database_url, 4, HF_HUB_OFFLINE="1")
    worker = Worker(env, tmp_path / "worker.log")
    try:
        args = ["--connectors", str(path), "--kafka", "--once"]
        _run_with_faults_and_a_kill(standins, args, env, tmp_path)
        assert sum(1 for r in standins.requests if r.status == 429) >= 2
        assert sum(1 for r in standins.requests if r.status == 500) >= 2

        def arrived() -> bool:
            stored = _stored(fresh_database_url)
            return all(expected[p] <= stored.get(p, set()) for p in PLATFORMS)

        wait_for("every polled item in PostgreSQL", arrived, 180, [worker])
        later = _publish(standins, 31, seed=32)  # published after the first run: new ids, newer items
        _finished(_poll(args, env, tmp_path / "poll2.log"), tmp_path / "poll2.log")
        want = {p: expected[p] | later[p] for p in PLATFORMS}
        wait_for("the second round's items", lambda: _stored(fresh_database_url) == want, 180, [worker])
    finally:
        worker.stop()
    stored = _stored(fresh_database_url)
    assert {p: stored.get(p, set()) for p in PLATFORMS} == want


def test_poll_on_the_embedded_runtime_applies_every_item_exactly_once_through_faults_and_a_kill(standins, tmp_path):
    expected = _publish(standins, 23, seed=41)
    path = _connectors_file(standins, tmp_path / "connectors.toml")
    data = tmp_path / "data"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    _run_with_faults_and_a_kill(standins, ["--connectors", str(path), "--data-dir", str(data), "--once"], env,
                                tmp_path)
    stored = _stored(f"sqlite:///{data / 'scrm.sqlite'}")
    assert {p: stored.get(p, set()) for p in PLATFORMS} == expected


def _connectors(base: str) -> dict[str, dict]:
    answer = httpx.get(f"{base}/v1/connectors", headers={"X-API-Key": ADMIN}, timeout=30)
    answer.raise_for_status()
    return {c["name"]: c for c in answer.json()}


def _wait(served: Served, what: str, probe) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if probe():
            return
        assert served.process.poll() is None, served.tail()
        time.sleep(0.3)
    pytest.fail(f"timed out waiting for {what}:\n{served.tail()}")


def test_scrm_serve_polls_its_poll_connectors_and_shows_their_health(standins, tmp_path):
    expected = _publish(standins, 12, seed=51)
    path = _connectors_file(standins, tmp_path / "connectors.toml")
    path.write_text(path.read_text().replace("interval_seconds = 5.0", "interval_seconds = 1.0"))
    data = tmp_path / "data"
    env = {**os.environ, "SCRM_API_KEYS": f"{ADMIN}:admin", "HF_HUB_OFFLINE": "1"}
    serve = Served(["serve", "--data-dir", str(data), "--connectors", str(path)], env, tmp_path / "serve.log")
    try:
        def all_polled() -> bool:
            polled = [c for c in _connectors(serve.base).values() if c["kind"] == "poll"]
            return len(polled) == len(PLATFORMS) and all(c["state"] == "live" for c in polled)

        _wait(serve, "every poll connector live", all_polled)
        later = _publish(standins, 5, seed=52)  # polled on the next interval, while serving

        def everything_applied() -> bool:
            stored = _stored(f"sqlite:///{data / 'scrm.sqlite'}")
            return all(expected[p] | later[p] <= stored.get(p, set()) for p in PLATFORMS)

        _wait(serve, "the polled events in the profiles", everything_applied)
        health = _connectors(serve.base)
        assert all(health[f"standin-{p}-{BRAND}"]["poll"]["events"] >= len(expected[p] | later[p]) for p in PLATFORMS)
        assert all(health[f"standin-{p}-{BRAND}"]["poll"]["rounds"] >= 2 for p in PLATFORMS)
    finally:
        serve.stop()


def test_scrm_demo_polls_x_and_reddit_from_its_stand_ins(tmp_path):
    env = {**os.environ, "SCRM_API_KEYS": f"{ADMIN}:admin", "HF_HUB_OFFLINE": "1"}
    demo = Served(["demo", "--data-dir", str(tmp_path / "data"), "--rate", "20", "--backfill-hours", "0.2"], env,
                  tmp_path / "demo.log")
    try:
        def polled_both() -> bool:
            polled = [c for c in _connectors(demo.base).values() if c["kind"] == "poll"]
            platforms = {c["platform"] for c in polled if (c["poll"] or {}).get("events", 0) > 0}
            return platforms == {"x", "reddit"}

        _wait(demo, "the demo's X and Reddit pollers taking events in", polled_both)
    finally:
        demo.stop()
