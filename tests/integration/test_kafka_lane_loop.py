"""The lane loop over the Kafka transport, against a real broker: a poison record is isolated and
dead-lettered while the rest of its batch is published and committed, and a lane that gives up on a
transient failure commits nothing, so the next consumer of its group gets every record again."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable

import pytest
from confluent_kafka import Consumer, Producer
from sqlalchemy.exc import OperationalError

from ingest.deadletter import DeadLetter
from ingest.records import SourceRecord
from streams.exceptions import LaneFailed
from streams.loop import FailurePolicy, Handled, LaneLoop
from streams.steps.deadletter_limit import DeadLetterLimit
from streams.topics import DEADLETTER
from streams.transports import Outgoing
from streams.transports.kafka import KafkaTransport

pytestmark = pytest.mark.integration


def _transport(bootstrap: str, topic: str, group: str) -> KafkaTransport:
    return KafkaTransport("test", topic, consumer_config={
        "bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False, "auto.offset.reset": "earliest",
    }, producer_config={"bootstrap.servers": bootstrap, "acks": "all"})


def _loop(transport: KafkaTransport, handler: Callable[[list[SourceRecord]], Handled], **policy: int) -> LaneLoop:
    return LaneLoop(name="test", transport=transport, handler=handler, batch_size=100, batch_max_ms=50,
                    guard=DeadLetterLimit(lane="test"), policy=FailurePolicy(backoff_seconds=0.01, **policy))


def _produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    for value in values:
        producer.produce(topic, value=value)
    assert producer.flush(30) == 0


def _read(bootstrap: str, topic: str, wanted: Callable[[list[bytes]], bool], timeout: float = 60.0) -> list[bytes]:
    """Values of ``topic`` from the start, read until ``wanted`` holds for them (bounded wait)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"reader-{uuid.uuid4().hex}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    values: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while not wanted(values) and time.monotonic() < deadline:
            values += [m.value() for m in consumer.consume(500, 0.5) if m.error() is None]
    finally:
        consumer.close()
    return values


def _steps_until(loop: LaneLoop, count: int, timeout: float = 60.0) -> None:
    """Step the loop until it handled ``count`` records (bounded wait for the broker to deliver them)."""
    stop, deadline = threading.Event(), time.monotonic() + timeout
    while loop.stats.records < count and time.monotonic() < deadline:
        loop.step(stop)
    assert loop.stats.records == count


def test_a_poison_record_is_dead_lettered_and_the_rest_of_its_batch_is_published(kafka_bootstrap, create_topic):
    source, out = create_topic(), create_topic()
    _produce(kafka_bootstrap, source, [b"boom" if n == 3 else f"r{n}".encode() for n in range(8)])

    def handler(records: list[SourceRecord]) -> Handled:
        if any(r.value == b"boom" for r in records):
            raise KeyError("a bug this record triggers")
        return Handled(messages=[Outgoing(out, None, r.value) for r in records])

    loop = _loop(_transport(kafka_bootstrap, source, f"g-{uuid.uuid4().hex}"), handler)
    _steps_until(loop, 8)
    loop.transport.close()
    assert sorted(_read(kafka_bootstrap, out, lambda v: len(v) >= 7)) == sorted(f"r{n}".encode() for n in range(8) if n != 3)
    letters = _read(kafka_bootstrap, DEADLETTER, lambda v: any(source.encode() in x for x in v))
    (dead,) = [d for d in map(DeadLetter.model_validate_json, letters) if d.source_topic == source]
    assert dead.original == b"boom" and dead.offset == 3 and "KeyError" in dead.error


def test_a_lane_that_gives_up_on_an_outage_commits_nothing_and_its_group_gets_every_record_again(
    kafka_bootstrap, create_topic
):
    source, group = create_topic(), f"g-{uuid.uuid4().hex}"
    _produce(kafka_bootstrap, source, [f"r{n}".encode() for n in range(5)])

    def away(records: list[SourceRecord]) -> Handled:
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("database away"))

    failing = _loop(_transport(kafka_bootstrap, source, group), away, transient_attempts=2)
    stop, deadline = threading.Event(), time.monotonic() + 60
    with pytest.raises(LaneFailed):
        while time.monotonic() < deadline:
            failing.step(stop)
    failing.transport.close()

    seen: list[bytes] = []

    def record(records: list[SourceRecord]) -> Handled:
        seen.extend(r.value for r in records)
        return Handled()

    restarted = _loop(_transport(kafka_bootstrap, source, group), record)
    _steps_until(restarted, 5)
    restarted.transport.close()
    assert sorted(seen) == [f"r{n}".encode() for n in range(5)]
