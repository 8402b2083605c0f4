"""Helpers for integration tests that run ``scrm worker`` processes against the real broker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import servers
from kafka import KafkaConsumer, KafkaProducer
from sqlalchemy import text

from profile_store.database import make_engine
from profile_store.repository import find_profile_by_identity
from streams.storage import open_storage
from streams.topics import SEGMENT_CHANGES

T = TypeVar("T")
START = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def social_event(platform: str, author: str, n: int, text: str, **extra: Any) -> dict[str, Any]:
    """A valid SocialEvent payload, ``n`` minutes after ``START``."""
    at = START + timedelta(minutes=n)
    return {
        "event_id": f"{platform}-{author}-{n}", "platform": platform, "kind": extra.pop("kind", "post"),
        "occurred_at": at.isoformat(), "received_at": (at + timedelta(seconds=2)).isoformat(),
        "author": {"id": author, "handle": f"h{author}", "display_name": f"用户{author}", "followers": 20_000},
        "brand": "acme", "text": text, "source": "integration-test", **extra,
    }


def produce(bootstrap: str, topic: str, messages: list[tuple[bytes | None, bytes]]) -> None:
    """Send and wait for the broker's acks."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for key, value in messages:
        producer.send(topic, key=key, value=value)
    producer.flush()
    producer.close()


def worker_env(bootstrap: str, database_url: str, partitions: int, **extra: str) -> dict[str, str]:
    """Environment of a worker with its own consumer group (app id) and small, quick batches."""
    return {
        **os.environ,
        "SCRM_KAFKA_BOOTSTRAP": bootstrap,
        "SCRM_DATABASE_URL": database_url,
        "SCRM_APP_ID": f"scrm-it-{uuid.uuid4().hex[:8]}",
        "SCRM_PARTITIONS": str(partitions),
        "SCRM_PIPELINE__BATCH_MAX_MS": "100",
        "SCRM_PIPELINE__BATCH_SIZE": "32",
        "SCRM_PRIVACY_SECRET": "integration-tests",
        **extra,
    }


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

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def wait_for(what: str, probe: Callable[[], T | None], timeout: float, workers: list[Worker]) -> T:
    """Poll ``probe`` until it returns something truthy; fail with the workers' logs on timeout or exit."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = probe()
        if result:
            return result
        for worker in workers:
            if worker.process.poll() is not None:
                pytest.fail(f"worker exited ({worker.process.returncode}) waiting for {what}:\n{worker.log_tail()}")
        time.sleep(0.5)
    logs = "\n---\n".join(worker.log_tail() for worker in workers)
    pytest.fail(f"timed out after {timeout}s waiting for {what}:\n{logs}")


def profile_probe(database_url: str, identity: str) -> Callable[[], Any]:
    """A function returning the current profile of ``identity`` (or ``None``)."""
    storage = open_storage(database_url, None)

    def probe() -> Any:
        with storage.session_factory() as session:
            return find_profile_by_identity(identity, session=session)

    return probe


def alert_probe(database_url: str, event_key_prefix: str) -> Callable[[], tuple[int, int, int]]:
    """A function returning (events under ``event_key_prefix`` the detectors have seen, alerts stored,
    alerts counted by incidents)."""
    engine = make_engine(database_url)
    query = text(
        "SELECT (SELECT count(*) FROM alert_event_ledger WHERE starts_with(event_key, :prefix)),"
        " (SELECT count(*) FROM alert_signals),"
        " (SELECT coalesce(sum(cast(data->>'count' AS integer)), 0) FROM alert_incidents)")

    def probe() -> tuple[int, int, int]:
        with engine.connect() as connection:
            seen, signals, folded = connection.execute(query, {"prefix": event_key_prefix}).one()
        return seen, signals, folded

    return probe


def as_json(value: Any) -> bytes:
    return json.dumps(value).encode()


class Served:
    """A ``scrm`` serving process (``api`` or ``serve``) on a free port, with its log."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.port = servers.free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._cmd = [sys.executable, "-m", "scrm.cli", *args, "--port", str(self.port)]
        self._env, self._log = env, log
        self.process = self.start()

    def start(self) -> subprocess.Popen[bytes]:
        self.process = subprocess.Popen(self._cmd, env=self._env, stdout=self._log.open("ab"),
                                        stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"{self._cmd[3]} exited ({self.process.returncode}):\n{self.tail()}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return self.process
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        pytest.fail(f"{self._cmd[3]} did not serve within 180 s:\n{self.tail()}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def tail(self) -> str:
        return "\n".join(self._log.read_text(errors="replace").splitlines()[-40:])


def caused_by(author: str) -> Callable[[dict], bool]:
    """Selects the segment changes an event of ``author`` caused."""
    return lambda change: author in (change.get("cause") or "")


def segment_changes_of(bootstrap: str, match: Callable[[dict], bool], *, want: int, timeout: float,
                worker: Worker) -> list[dict]:
    """The changes on ``scrm.segments.changes`` that ``match`` selects, in change-id order, once ``want`` have
    arrived (each once: a re-publication has the same id); fails with the worker's log after ``timeout``."""
    consumer = KafkaConsumer(SEGMENT_CHANGES, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                             enable_auto_commit=False, group_id=None, consumer_timeout_ms=1000)
    found: dict[int, dict] = {}
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and len(found) < want:
            assert worker.process.poll() is None, worker.log_tail()
            for message in consumer:
                change = json.loads(message.value)
                if match(change):
                    assert message.key == change["customer_id"].encode()
                    found[change["change_id"]] = change  # at-least-once: a re-publication has the same id
    finally:
        consumer.close()
    assert len(found) >= want, f"only {len(found)} segment changes after {timeout} s:\n{worker.log_tail()}"
    return [found[i] for i in sorted(found)]
