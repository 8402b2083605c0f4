"""The analytics sync on the real Kafka runtime: the worker owning the identity partition copies segment
changes (and incidents, alerts, connector health) from PostgreSQL to ClickHouse, and a worker that stops
makes a last pass first; the apply lane writes the events themselves. ClickHouse is a chDB store here (no
server installs on these machines; the server path runs the same SQL), read after the worker exits, since
chDB lets one process hold a store."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from workers import Worker, as_json, caused_by, produce, segment_changes_of, social_event, worker_env

from analytics.client import chdb_dsn
from streams.admin import ensure_topics
from streams.topics import RAW_EVENTS

pytestmark = pytest.mark.integration
PARTITIONS = 2


def test_segment_changes_reach_clickhouse_through_the_worker_sync(
    kafka_bootstrap: str, fresh_database_url: str, tmp_path: Path
) -> None:
    rule = tmp_path / "newcomers.txt"
    rule.write_text("event_count < 5 and platforms contains douyin", encoding="utf-8")
    created = subprocess.run([sys.executable, "-m", "scrm.cli", "segments", "create", "newcomers", "--rule-file",
                              str(rule), "--database-url", fresh_database_url],
                             capture_output=True, text=True, timeout=120, check=False)
    assert created.returncode == 0, created.stderr
    ensure_topics(kafka_bootstrap, PARTITIONS)
    dsn = chdb_dsn(tmp_path / "analytics")
    worker = Worker(worker_env(kafka_bootstrap, fresh_database_url, PARTITIONS, SCRM_CLICKHOUSE_DSN=dsn),
                    tmp_path / "worker.log")
    try:
        author = f"an{uuid.uuid4().hex[:10]}"
        produce(kafka_bootstrap, RAW_EVENTS, [(f"douyin:{author}".encode(),
                                               as_json(social_event("douyin", author, 1, "第一次买，期待")))])
        (entered,) = segment_changes_of(kafka_bootstrap, caused_by(author), want=1, timeout=120, worker=worker)
    finally:
        worker.stop()  # SIGTERM: the sync's last pass runs before the worker exits
    assert worker.process.returncode == 0, worker.log_tail()

    rows = _query(dsn, "SELECT customer_id, change, delta, cause FROM segment_changes WHERE segment = 'newcomers'")
    assert rows == [{"customer_id": entered["customer_id"], "change": "enter", "delta": 1,
                     "cause": f"douyin:{author}/douyin-{author}-1"}]
    (event,) = _query(dsn, f"SELECT customer_id, text FROM events WHERE author_id = '{author}'")
    assert event == {"customer_id": entered["customer_id"], "text": "第一次买，期待"}


def _query(dsn: str, sql: str) -> list[dict[str, object]]:
    """Rows of ``sql`` through ``scrm sql`` in a process of its own (this one may hold another chDB store)."""
    done = subprocess.run([sys.executable, "-m", "scrm.cli", "sql", sql, "--clickhouse-dsn", dsn, "--format", "json"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
