"""The Kafka intake sink against a real broker: ``accept`` returns once the broker holds the request's
records, events on ``scrm.events.raw`` keyed by identity, dead letters on ``scrm.deadletter``; concurrent
requests share one producer and each waits only for its own records."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime

import pytest
import servers
from confluent_kafka import Consumer

from ingest.codec import decode_event, event_from_dict
from ingest.deadletter import DeadLetter
from ingest.exceptions import IntakeUnavailable
from streams.topics import DEADLETTER, RAW_EVENTS
from streams.transports.kafka_intake import KafkaIntakeSink

pytestmark = pytest.mark.integration

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _event(event_id: str, author: str):
    return event_from_dict({"event_id": event_id, "platform": "facebook", "kind": "comment", "occurred_at": AT,
                            "received_at": AT, "author": {"id": author}, "text": "hello", "source": "test"})


def _read_from_start(bootstrap: str, topic: str, wanted, timeout: float = 60.0) -> list[tuple[bytes | None, bytes]]:
    """(key, value) of ``topic`` from the start, read until ``wanted`` holds for them (bounded wait)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"reader-{uuid.uuid4().hex}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    seen: list[tuple[bytes | None, bytes]] = []
    deadline = time.monotonic() + timeout
    try:
        while not wanted(seen) and time.monotonic() < deadline:
            seen += [(m.key(), m.value() or b"") for m in consumer.consume(500, 0.5) if m.error() is None]
    finally:
        consumer.close()
    return seen


def test_accepted_events_and_dead_letters_are_on_their_topics_when_accept_returns(kafka_bootstrap):
    servers.create_topics(kafka_bootstrap, [RAW_EVENTS, DEADLETTER], 2)
    run = uuid.uuid4().hex
    sink = KafkaIntakeSink({"bootstrap.servers": kafka_bootstrap})
    letter = DeadLetter(original=f"broken {run}".encode(), error="<payload>: not JSON", stage="webhook",
                        source_topic="webhook:test", failed_at=AT, headers={"content-type": "application/json"})
    errors: list[BaseException] = []

    def request(n: int) -> None:
        try:
            sink.accept([_event(f"{run}-{n}-{i}", f"author-{n}") for i in range(5)])
        except BaseException as exc:
            errors.append(exc)

    try:
        threads = [threading.Thread(target=request, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        sink.accept([letter])
    finally:
        sink.close()
    assert errors == []

    def mine(seen):
        return [(key, decode_event(value)) for key, value in seen if run.encode() in value]

    events = mine(_read_from_start(kafka_bootstrap, RAW_EVENTS, lambda seen: len(mine(seen)) >= 40))
    assert len(events) == 40
    assert all(key == event.identity_key.encode() for key, event in events)
    letters = [DeadLetter.model_validate_json(v) for _, v in _read_from_start(
        kafka_bootstrap, DEADLETTER, lambda seen: any(run.encode() in DeadLetter.model_validate_json(v).original
                                                       for _, v in seen))]
    assert any(found.original == letter.original and found.headers == letter.headers for found in letters)


def test_accept_raises_when_no_broker_acknowledges_in_time():
    sink = KafkaIntakeSink({"bootstrap.servers": "127.0.0.1:1", "message.timeout.ms": 500}, timeout_seconds=2)
    try:
        with pytest.raises(IntakeUnavailable):
            sink.accept([_event("unreachable-1", "a")])
    finally:
        sink.close()
