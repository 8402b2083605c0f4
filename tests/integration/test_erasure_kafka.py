"""Erasure on the Kafka runtime with PostgreSQL: a worker applies a person's two merged accounts and a
bystander; the erasure removes the person from the database, leaves tombstones as the latest value of
each of their keys on the compacted topics, and a replay of their raw events (with a new one) brings
nobody back: the worker's lanes count them as suppressed."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import servers
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, ResourceType
from pydantic import SecretStr
from sqlalchemy import select

from enrichment.lexicon import LexiconEnricher
from ingest.kafka_connection import KafkaConnection
from ingest.producer import publish_raw
from profile_store.privacy import PrivacyKey
from profile_store.repository import find_profile_by_identity
from profile_store.tables import IdentityRow
from scrm.erasing import kafka_erasure, producer_config
from streams.admin import ensure_topics
from streams.config import PipelineConfig
from streams.runtimes.kafka import KafkaWorker
from streams.settings import WorkerSettings
from streams.storage import Storage, open_storage
from streams.topics import IDENTITY_ASSIGNMENTS, PROFILES

pytestmark = pytest.mark.integration
SECRET = "integration-erasure-secret"


@pytest.fixture(scope="module")
def own_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = servers.start_kafka(tmp_path_factory.mktemp("erasure-kafka"))
    try:
        yield server.address
    finally:
        server.stop()


def _compact_eagerly(bootstrap: str) -> None:
    """This broker's compacted topics roll a segment per append and compact at once (the defaults wait up to a
    day, ``max.compaction.lag.ms``), and drop tombstones as soon as compacted: what a day does, in seconds."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    entries = [ConfigEntry(name, value, incremental_operation=AlterConfigOpType.SET) for name, value in (
        ("segment.ms", "1"), ("min.cleanable.dirty.ratio", "0.01"), ("delete.retention.ms", "0"),
        ("min.compaction.lag.ms", "0"), ("max.compaction.lag.ms", "1"))]
    futures = admin.incremental_alter_configs(
        [ConfigResource(ResourceType.TOPIC, topic, incremental_configs=entries) for topic in (PROFILES, IDENTITY_ASSIGNMENTS)])
    for future in futures.values():
        future.result(timeout=30)


def _records(bootstrap: str, topic: str) -> list[tuple[str, bytes | None]]:
    """Every record a consumer reading ``topic`` from its start finds."""
    found: list[tuple[str, bytes | None]] = []
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"probe-{uuid.uuid4().hex[:8]}",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    try:
        metadata = consumer.list_topics(topic, timeout=10).topics[topic]
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10) for p in metadata.partitions}
        consumer.assign([TopicPartition(topic, p, low) for p, (low, _) in ends.items()])
        left = {p for p, (low, high) in ends.items() if high > low}
        deadline = time.monotonic() + 60
        while left and time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is None or message.error():
                continue
            found.append((message.key().decode(), message.value()))
            if message.offset() + 1 >= ends[message.partition()][1]:
                left.discard(message.partition())
        assert not left, f"{topic} was not read to its end"
        return found
    finally:
        consumer.close()


def _latest(bootstrap: str, topic: str) -> dict[str, bytes | None]:
    """The compacted topic as a consumer materialises it: the latest value of every key."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"probe-{uuid.uuid4().hex[:8]}",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    try:
        metadata = consumer.list_topics(topic, timeout=10).topics[topic]
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in metadata.partitions}
        consumer.assign([TopicPartition(topic, p, 0) for p in ends])
        latest: dict[str, bytes | None] = {}
        left = {p for p, end in ends.items() if end > 0}
        deadline = time.monotonic() + 60
        while left and time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is None or message.error():
                continue
            latest[message.key().decode()] = message.value()
            if message.offset() + 1 >= ends[message.partition()]:
                left.discard(message.partition())
        assert not left, f"{topic} was not read to its end"
        return latest
    finally:
        consumer.close()


def _wait(condition, what: str, thread: threading.Thread, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline and thread.is_alive():
        time.sleep(0.2)  # polls for the cause; returns as soon as it holds
    assert condition(), f"{what} within {seconds:.0f} s"


def record_keys(tag: str, email: str) -> set[str]:
    return {f"weibo:qw-{tag}", f"douyin:qd-{tag}", f"email:{email}"}


def _event(tag: str, n: int, platform: str, author: str, handle: str, text: str, email: str | None) -> bytes:
    return json.dumps({
        "event_id": f"ek-{tag}-{n}", "platform": platform, "kind": "post",
        "occurred_at": "2032-05-01T09:00:00+00:00", "received_at": "2032-05-01T09:00:01+00:00",
        "author": {"id": author, "handle": handle, "display_name": handle, "followers": 50, "verified": False},
        "brand": "acme", "text": text, "metrics": {"likes": 0, "shares": 0, "replies": 0},
        "identity_hints": {"email": email}, "source": "integration-test",
    }, ensure_ascii=False).encode()


def test_the_kafka_runtime_erases_a_person_tombstones_their_keys_and_suppresses_their_replay(
        own_kafka: str, fresh_database_url: str) -> None:
    tag = uuid.uuid4().hex[:8]
    handle, email = f"Quillon{tag}", f"quillon.{tag}@example.org"
    person = [_event(tag, 1, "weibo", f"qw-{tag}", handle, f"Marzipanic-{tag} the battery died again", email),
              _event(tag, 2, "douyin", f"qd-{tag}", handle, f"Marzipanic-{tag} still broken", email)]
    bystander = _event(tag, 3, "weibo", f"bs-{tag}", f"Bystander{tag}", "works fine for me", None)
    ensure_topics(own_kafka, 2)
    settings = WorkerSettings(kafka_bootstrap=own_kafka, database_url=fresh_database_url, app_id=f"erase-{tag}",
                              partitions=2, pipeline=PipelineConfig(batch_size=50, batch_max_ms=50),
                              privacy_secret=SecretStr(SECRET))
    storage: Storage = open_storage(settings.database_url, None)
    stop = threading.Event()
    try:
        worker = KafkaWorker(settings, build_enricher=LexiconEnricher, storage=storage)
        thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
        thread.start()
        publish_raw(own_kafka, [*person, bystander])

        def profile(key: str):
            with storage.session_factory() as session:
                return find_profile_by_identity(key, session=session)

        def merged() -> bool:
            found = profile(f"weibo:qw-{tag}")
            return found is not None and f"douyin:qd-{tag}" in found.identities and profile(f"weibo:bs-{tag}") is not None

        _wait(merged, "the worker applied and merged the person's accounts", thread)
        customer = profile(f"weibo:qw-{tag}").customer_id
        _wait(lambda: customer in _latest(own_kafka, PROFILES), "the profile reached scrm.profiles", thread)

        erase, verify = kafka_erasure(storage, PrivacyKey.from_text(SECRET),
                                      producer_config(KafkaConnection().librdkafka(own_kafka), "test-erasure"))
        record = erase(f"weibo:qw-{tag}", "dpo", "ticket 9")

        assert record is not None and record.counts["sql.profile_events"] == 2
        assert record.counts[f"kafka.{IDENTITY_ASSIGNMENTS}"] >= 3  # two accounts and the e-mail
        for subject in (f"weibo:qw-{tag}", f"douyin:qd-{tag}", f"email:{email}", customer):
            listed, traces, _ = verify(subject)
            assert listed and not any(traces.values()), (subject, {k: v for k, v in traces.items() if v})
        profiles, assignments = _latest(own_kafka, PROFILES), _latest(own_kafka, IDENTITY_ASSIGNMENTS)
        for key in (f"weibo:qw-{tag}", f"douyin:qd-{tag}", f"email:{email}"):
            assert assignments.get(key, None) is None, f"{key} still assigned on the compacted topic"
        assert profiles[customer] is None, "the latest scrm.profiles record of the customer is a tombstone"
        assert not [k for k, v in profiles.items() if v and handle.encode() in v], "no live profile names them"
        assert profile(f"weibo:bs-{tag}") is not None, "the bystander stays"

        replay = [*person, _event(tag, 4, "weibo", f"qw-{tag}", handle, f"Marzipanic-{tag} new post", email)]
        publish_raw(own_kafka, replay)
        _wait(lambda: sum(lane.stats.suppressed for lane in worker.lanes()) >= len(replay),
              "the worker suppressed the replay", thread)
        with storage.session_factory() as session:
            assert session.scalars(select(IdentityRow).where(IdentityRow.identity_key.in_(
                [f"weibo:qw-{tag}", f"douyin:qd-{tag}", f"email:{email}"]))).all() == []
        assert verify(f"weibo:qw-{tag}")[0] and not any(verify(f"weibo:qw-{tag}")[1].values())

        # compaction then removes the older records and the tombstones: a consumer reading the compacted
        # topics from their start finds no record of the person at all
        keys = {customer, *record_keys(tag, email)}
        _compact_eagerly(own_kafka)
        producer = Producer({"bootstrap.servers": own_kafka})

        def traceless() -> bool:
            for topic in (PROFILES, IDENTITY_ASSIGNMENTS):
                producer.produce(topic, key=f"probe-{uuid.uuid4().hex}", value=b"{}")  # rolls the active segment
            producer.flush(10)
            found = [(k, v) for topic in (PROFILES, IDENTITY_ASSIGNMENTS) for k, v in _records(own_kafka, topic)]
            return not [k for k, v in found if k in keys or (v and (handle.encode() in v or customer.encode() in v))]

        _wait(traceless, "compaction removed every record of the person", thread, seconds=240)
        stop.set()
        thread.join(timeout=60)
        assert worker.exit_code == 0
    finally:
        stop.set()
        storage.close()
