"""The Kafka runtime end to end: kafka-python produces to the real broker, a real faust worker runs as a
separate process, and the outcome lands in PostgreSQL and on the output topics."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from kafka import KafkaConsumer, KafkaProducer

from profile_store.repository import find_profile_by_identity
from streams.admin import ensure_topics
from streams.storage import open_storage
from streams.topics import ALERTS, DEADLETTER, RAW_EVENTS

pytestmark = pytest.mark.integration
T = TypeVar("T")
PARTITIONS = 2


def _event(author: str, n: int, text: str, **extra: Any) -> dict[str, Any]:
    at = datetime(2026, 11, 1, 8, 0, tzinfo=UTC) + timedelta(minutes=n)
    return {
        "event_id": f"{author}-{n}",
        "platform": "weibo",
        "kind": "post",
        "occurred_at": at.isoformat(),
        "received_at": (at + timedelta(seconds=2)).isoformat(),
        "author": {"id": author, "handle": f"h{author}", "display_name": f"用户{author}", "followers": 5000},
        "brand": "acme",
        "text": text,
        "source": "integration-test",
        **extra,
    }


def _produce(bootstrap: str, messages: list[tuple[bytes | None, bytes]]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for key, value in messages:
        producer.send(RAW_EVENTS, key=key, value=value)
    producer.flush()
    producer.close()


def _wait_for(what: str, probe: Callable[[], T | None], timeout: float, worker: "Worker") -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = probe()
        if result:
            return result
        if worker.process.poll() is not None:
            pytest.fail(f"worker exited ({worker.process.returncode}) while waiting for {what}:\n{worker.log_tail()}")
        time.sleep(0.5)
    pytest.fail(f"timed out after {timeout}s waiting for {what}:\n{worker.log_tail()}")


class Worker:
    """``scrm worker`` as a child process, with its output in a log file."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._env = env
        self.process = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        log = self.log_path.open("ab")
        return subprocess.Popen(
            [sys.executable, "-m", "scrm.cli", "worker", "--loglevel", "info"],
            env=self._env, stdout=log, stderr=subprocess.STDOUT,
        )

    def restart(self) -> None:
        self.process = self._start()

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture
def worker_env(kafka_bootstrap: str, fresh_database_url: str) -> dict[str, str]:
    ensure_topics(kafka_bootstrap, PARTITIONS)
    return {
        **os.environ,
        "SCRM_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "SCRM_DATABASE_URL": fresh_database_url,
        "SCRM_APP_ID": f"scrm-it-{uuid.uuid4().hex[:8]}",
        "SCRM_PARTITIONS": str(PARTITIONS),
        "SCRM_PIPELINE__BATCH_MAX_MS": "100",
        "SCRM_PIPELINE__BATCH_SIZE": "32",
    }


@pytest.fixture
def worker(worker_env: dict[str, str], tmp_path: Path) -> Iterator[Worker]:
    running = Worker(worker_env, tmp_path / "worker.log")
    yield running
    running.kill(signal.SIGTERM)


def _profile_of(database_url: str, identity: str) -> Callable[[], Any]:
    storage = open_storage(database_url, None)

    def probe() -> Any:
        with storage.session_factory() as session:
            return find_profile_by_identity(identity, session=session)

    return probe


def _topic_messages(bootstrap: str, topic: str, match: Callable[[dict[str, Any]], bool], timeout: float) -> list[dict[str, Any]]:
    consumer = KafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False,
        group_id=None, consumer_timeout_ms=int(timeout * 1000),
    )
    found = []
    deadline = time.monotonic() + timeout
    try:
        for message in consumer:
            payload = json.loads(message.value)
            if match(payload):
                found.append(payload)
                break
            if time.monotonic() > deadline:
                break
    finally:
        consumer.close()
    return found


def test_events_become_a_postgres_profile_an_alert_and_dead_letters(
    worker: Worker, kafka_bootstrap: str, fresh_database_url: str
) -> None:
    author = f"it{uuid.uuid4().hex[:10]}"
    negative = _event(author, 1, "快递太慢了，质量问题太多，我要投诉！terrible")
    positive = _event(author, 2, "客服很好，谢谢，满意")
    bad_bytes = b"\xff\xfe not json " + author.encode()
    _produce(kafka_bootstrap, [
        (f"weibo:{author}".encode(), json.dumps(negative).encode()),
        (f"weibo:{author}".encode(), json.dumps(positive).encode()),
        (None, bad_bytes),
    ])

    profile = _wait_for(
        "the profile to count both events",
        lambda: (p := _profile_of(fresh_database_url, f"weibo:{author}")()) and p.event_count == 2 and p,
        timeout=120, worker=worker,
    )
    assert profile.counts_by_kind == {"post": 2}
    assert profile.sentiment.negative == 1 and profile.sentiment.positive == 1
    assert profile.identities == (f"weibo:{author}",)

    alerts = _topic_messages(kafka_bootstrap, ALERTS, lambda a: a["event_id"] == negative["event_id"], timeout=60)
    assert alerts, "no alert for the negative post on scrm.alerts"
    assert alerts[0]["rule"] == "negative_post" and alerts[0]["customer_id"] == profile.customer_id

    import base64

    letters = _topic_messages(
        kafka_bootstrap, DEADLETTER, lambda d: base64.b64decode(d["original"]) == bad_bytes, timeout=60
    )
    assert letters, "the undecodable message was not dead-lettered"
    assert "UTF-8" in letters[0]["error"] and letters[0]["source_topic"] == RAW_EVENTS
    assert letters[0]["offset"] is not None
    assert worker.process.poll() is None, "the worker must keep running after bad input"


def test_a_killed_worker_loses_and_double_counts_nothing(
    worker: Worker, kafka_bootstrap: str, fresh_database_url: str
) -> None:
    author = f"kill{uuid.uuid4().hex[:10]}"
    total = 400
    key = f"weibo:{author}".encode()
    _produce(kafka_bootstrap, [(key, json.dumps(_event(author, n, f"post {n} 不错")).encode()) for n in range(total)])
    probe = _profile_of(fresh_database_url, f"weibo:{author}")
    _wait_for("some events to be applied", lambda: (p := probe()) and p.event_count > 0 and p, 120, worker)
    worker.kill(signal.SIGKILL)
    worker.restart()
    profile = _wait_for(
        f"all {total} events", lambda: (p := probe()) and p.event_count >= total and p, timeout=180, worker=worker
    )
    time.sleep(3)
    assert probe().event_count == total
    assert profile.counts_by_kind == {"post": total}
