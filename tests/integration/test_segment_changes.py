"""Live segments on the real Kafka runtime: a customer enters a saved segment with one event and leaves it
with the next, each change on ``scrm.segments.changes`` (key: the customer id) naming the event; a customer
whose time window closed with no event of theirs leaves with the worker's sweep."""

from __future__ import annotations

import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from workers import START, Worker, as_json, caused_by, produce, segment_changes_of, social_event, worker_env

from streams.admin import ensure_topics
from streams.topics import RAW_EVENTS

pytestmark = pytest.mark.integration
PARTITIONS = 2


def test_a_customer_enters_and_leaves_a_segment_seen_on_the_changes_topic(
    kafka_bootstrap: str, fresh_database_url: str, tmp_path: Path
) -> None:
    rule = tmp_path / "first-timers.txt"
    rule.write_text("event_count < 2 and platforms contains weibo", encoding="utf-8")
    created = subprocess.run([sys.executable, "-m", "scrm.cli", "segments", "create", "first-timers", "--rule-file",
                              str(rule), "--database-url", fresh_database_url],
                             capture_output=True, text=True, timeout=120, check=False)
    assert created.returncode == 0, created.stderr
    ensure_topics(kafka_bootstrap, PARTITIONS)
    worker = Worker(worker_env(kafka_bootstrap, fresh_database_url, PARTITIONS), tmp_path / "worker.log")
    try:
        author = f"seg{uuid.uuid4().hex[:10]}"
        key = f"weibo:{author}".encode()
        produce(kafka_bootstrap, RAW_EVENTS, [(key, as_json(social_event("weibo", author, 1, "第一次来，看看")))])
        segment_changes_of(kafka_bootstrap, caused_by(author), want=1, timeout=120, worker=worker)  # next in a later batch
        produce(kafka_bootstrap, RAW_EVENTS, [(key, as_json(social_event("weibo", author, 2, "又来了")))])
        changes = segment_changes_of(kafka_bootstrap, caused_by(author), want=2, timeout=120, worker=worker)
    finally:
        worker.stop()
    assert [(c["segment"], c["change"]) for c in changes] == [("first-timers", "enter"), ("first-timers", "leave")]
    assert [c["cause"] for c in changes] == [f"weibo:{author}/weibo-{author}-1", f"weibo:{author}/weibo-{author}-2"], \
        "each change names the event that caused it"
    assert changes[0]["customer_id"] == changes[1]["customer_id"]


def test_the_worker_sweep_moves_a_customer_whose_window_closed_and_publishes_it(
    kafka_bootstrap: str, fresh_database_url: str, tmp_path: Path
) -> None:
    rule = tmp_path / "active.txt"
    rule.write_text("last_seen within_days 1", encoding="utf-8")
    created = subprocess.run([sys.executable, "-m", "scrm.cli", "segments", "create", "active", "--rule-file",
                              str(rule), "--database-url", fresh_database_url],
                             capture_output=True, text=True, timeout=120, check=False)
    assert created.returncode == 0, created.stderr
    ensure_topics(kafka_bootstrap, PARTITIONS)
    env = worker_env(kafka_bootstrap, fresh_database_url, PARTITIONS, SCRM_PIPELINE__SEGMENT_SWEEP_SECONDS="0.5")
    worker = Worker(env, tmp_path / "worker.log")
    try:
        quiet, busy = (f"sw{uuid.uuid4().hex[:10]}" for _ in range(2))
        # the worker's new consumer group reads the shared topics from the start, where earlier tests left
        # events stamped with the wall clock: the quiet customer's event must be the stream's newest to enter
        minutes_from_start = int((datetime.now(UTC) - START).total_seconds() // 60)
        produce(kafka_bootstrap, RAW_EVENTS, [(f"weibo:{quiet}".encode(),
                                               as_json(social_event("weibo", quiet, minutes_from_start, "在")))])
        (entered,) = segment_changes_of(kafka_bootstrap, caused_by(quiet), want=1, timeout=120, worker=worker)
        # three days later by event time: the stream's clock moves on, and only the sweep can see that the
        # quiet customer's window closed (no event of theirs arrives to re-decide them)
        produce(kafka_bootstrap, RAW_EVENTS, [(f"weibo:{busy}".encode(), as_json(
            social_event("weibo", busy, minutes_from_start + 3 * 24 * 60, "我也在")))])
        (left,) = segment_changes_of(kafka_bootstrap, lambda c: c["customer_id"] == entered["customer_id"]
                              and c["change"] == "leave", want=1, timeout=120, worker=worker)
    finally:
        worker.stop()
    assert entered["change"] == "enter"
    assert left["cause"].startswith("sweep:"), left
