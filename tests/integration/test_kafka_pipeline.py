"""The Kafka runtime end to end: kafka-python produces to the real broker, real ``scrm worker`` processes
consume, and the outcome lands in PostgreSQL and on the output topics."""

from __future__ import annotations

import base64
import json
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer
from workers import Worker, alert_probe, as_json, produce, profile_probe, social_event, wait_for, worker_env

from streams.admin import ensure_topics
from streams.storage import open_storage
from streams.topics import ALERTS, DEADLETTER, ENRICHED_EVENTS, RAW_EVENTS

pytestmark = pytest.mark.integration
PARTITIONS = 2


@pytest.fixture
def worker(kafka_bootstrap: str, fresh_database_url: str, tmp_path: Path) -> Iterator[Worker]:
    ensure_topics(kafka_bootstrap, PARTITIONS)
    running = Worker(worker_env(kafka_bootstrap, fresh_database_url, PARTITIONS), tmp_path / "worker.log")
    yield running
    running.stop()


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
    negative = social_event("weibo", author, 1, "快递太慢了，质量问题太多，我要投诉！")
    positive = social_event("weibo", author, 2, "客服很好，谢谢，满意")
    bad_bytes = b"\xff\xfe not json " + author.encode()
    produce(kafka_bootstrap, RAW_EVENTS, [
        (f"weibo:{author}".encode(), as_json(negative)),
        (f"weibo:{author}".encode(), as_json(positive)),
        (None, bad_bytes),
    ])
    probe = profile_probe(fresh_database_url, f"weibo:{author}")
    profile = wait_for(
        "the profile to count both events", lambda: (p := probe()) and p.event_count == 2 and p, 120, [worker]
    )
    assert profile.counts_by_kind == {"post": 2}
    assert profile.sentiment.negative == 1 and profile.sentiment.positive == 1
    assert profile.identities == (f"weibo:{author}",)

    alerts = _topic_messages(kafka_bootstrap, ALERTS, lambda a: a["event_id"] == negative["event_id"], timeout=60)
    assert alerts, "no alert for the negative post on scrm.alerts"
    assert alerts[0]["rule"] == "negative_post" and alerts[0]["customer_id"] == profile.customer_id

    enriched = _topic_messages(
        kafka_bootstrap, ENRICHED_EVENTS, lambda e: e["event"]["event_id"] == negative["event_id"], timeout=60
    )
    assert enriched, "the enriched event was not published for outside consumers"
    assert enriched[0]["customer_id"] == profile.customer_id and enriched[0]["enrichment"]["sentiment"]["label"] == "negative"

    letters = _topic_messages(
        kafka_bootstrap, DEADLETTER, lambda d: base64.b64decode(d["original"]) == bad_bytes, timeout=60
    )
    assert letters, "the undecodable message was not dead-lettered"
    assert "UTF-8" in letters[0]["error"] and letters[0]["source_topic"] == RAW_EVENTS
    assert letters[0]["offset"] is not None
    assert worker.process.poll() is None, "the worker must keep running after bad input"

    stored = wait_for("the dead-letter lane to store it where the API reads dead letters",
                      lambda: _api_dead_letters(fresh_database_url, bad_bytes), 60, [worker])
    assert stored[0]["stage"] == "decode" and stored[0]["source_topic"] == RAW_EVENTS


def _api_dead_letters(database_url: str, original: bytes) -> list[dict]:
    """What ``GET /v1/deadletters`` answers about ``original`` (an API over the worker's database)."""
    from fastapi.testclient import TestClient

    from api.app import ApiServices, create_app
    from enrichment.lexicon import LexiconEnricher

    storage = open_storage(database_url, None)
    try:
        app = create_app(ApiServices(session_factory=storage.session_factory, api_keys={"k": "analyst"},
                                     enricher=LexiconEnricher(), submit_links=lambda signals: None))
        answer = TestClient(app).get("/v1/deadletters", headers={"X-API-Key": "k"}, params={"limit": 1000})
        assert answer.status_code == 200
        return [d for d in answer.json() if base64.b64decode(d["original"]) == original]
    finally:
        storage.close()


def test_a_killed_worker_loses_and_double_counts_nothing(
    worker: Worker, kafka_bootstrap: str, fresh_database_url: str
) -> None:
    author = f"kill{uuid.uuid4().hex[:10]}"
    total = 400
    key = f"weibo:{author}".encode()
    texts = [f"质量问题，我要投诉 {n}" if n % 4 == 0 else f"post {n} 不错" for n in range(total)]
    produce(kafka_bootstrap, RAW_EVENTS, [(key, as_json(social_event("weibo", author, n, text)))
                                          for n, text in enumerate(texts)])
    probe = profile_probe(fresh_database_url, f"weibo:{author}")
    wait_for("some events to be applied", lambda: (p := probe()) and p.event_count > 0 and p, 120, [worker])
    worker.stop(signal.SIGKILL)
    worker.restart()
    profile = wait_for(f"all {total} events", lambda: (p := probe()) and p.event_count >= total and p, 180, [worker])
    alerting = alert_probe(fresh_database_url, f"weibo:{author}/")
    wait_for(f"all {total} events to reach the detectors", lambda: alerting()[0] >= total, 180, [worker])
    time.sleep(3)
    assert probe().event_count == total
    assert profile.counts_by_kind == {"post": total}
    seen, signals, folded = alerting()
    assert seen == total
    assert signals > 0, "the complaints raised alerts"
    assert folded == signals, "every alert folded into its incident exactly once"



def test_lanes_in_separate_processes_raise_the_alert_before_any_profile_is_applied(
    kafka_bootstrap: str, fresh_database_url: str, tmp_path: Path
) -> None:
    """The lanes of a worker can run as separate processes (one interpreter lock each); together they do
    what one worker does, handing events over on ``scrm.events.enriched``. The alert lane needs no applied
    profile: the complaint's alert is out while no applier runs yet."""
    ensure_topics(kafka_bootstrap, PARTITIONS)
    env = worker_env(kafka_bootstrap, fresh_database_url, PARTITIONS)

    def start(lanes: list[str]) -> Worker:
        return Worker({**env, "SCRM_LANES": json.dumps(lanes)}, tmp_path / f"{'-'.join(lanes)}.log")

    workers = [start(["enrich", "alert"])]
    try:
        author = f"split{uuid.uuid4().hex[:10]}"
        key = f"douyin:{author}".encode()
        posts = [social_event("douyin", author, n, "质量问题，我要投诉" if n == 0 else "还不错") for n in range(3)]
        produce(kafka_bootstrap, RAW_EVENTS, [(key, as_json(post)) for post in posts])
        alerts = _topic_messages(kafka_bootstrap, ALERTS, lambda a: a["event_id"] == posts[0]["event_id"], timeout=60)
        assert alerts, "the alert lane published no alert for the complaint"
        probe = profile_probe(fresh_database_url, f"douyin:{author}")
        assert probe() is None, "no applier runs yet"

        workers.append(start(["apply", "identity"]))
        profile = wait_for("the profile to count all events", lambda: (p := probe()) and p.event_count == 3 and p, 120,
                           workers)
        assert profile.sentiment.negative == 1
        assert {a["customer_id"] for a in alerts} == {profile.customer_id}
    finally:
        for worker in workers:
            worker.stop()
