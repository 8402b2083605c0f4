"""The Kafka transport: one librdkafka consumer in a group and one idempotent producer.

Fetching, heartbeats and producing run in librdkafka's own C threads, so the lane's Python thread spends
its time in the handler. ``publish`` waits for the broker's acknowledgement of every message (acks=all);
``commit`` is synchronous; a commit refused because the group moved on (a handler stuck past
``max.poll.interval.ms``) is logged and the batch is redelivered to the partition's next owner — harmless,
effects are idempotent. ``rewind`` seeks every assigned partition back to its committed offset, so a
failed batch is consumed again by this consumer, not skipped.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from confluent_kafka import (
    OFFSET_BEGINNING,
    TIMESTAMP_NOT_AVAILABLE,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)

from ingest.records import SourceRecord
from streams.exceptions import PublishFailed
from streams.transports import Outgoing

log = logging.getLogger(__name__)

PUBLISH_TIMEOUT_SECONDS = 30.0


class KafkaTransport:
    """A consumer of ``topic`` (its group in ``consumer_config``) and a producer. Not thread-safe: one
    lane loop uses it."""

    def __init__(self, name: str, topic: str | None, *, consumer_config: dict[str, Any] | None,
                 producer_config: dict[str, Any]) -> None:
        self._name = name
        self._producer = Producer(producer_config)
        self._assigned = threading.Event()
        self._consumer: Consumer | None = None
        if topic is not None and consumer_config is not None:
            self._consumer = Consumer(consumer_config)
            self._consumer.subscribe([topic], on_assign=self._on_assign, on_revoke=self._on_revoke)

    @classmethod
    def producer_only(cls, producer_config: dict[str, Any]) -> KafkaTransport:
        """A transport that only publishes (for jobs and tools); consuming from it is an error."""
        return cls("producer", None, consumer_config=None, producer_config=producer_config)

    @property
    def consumer(self) -> Consumer:
        if self._consumer is None:
            raise RuntimeError(f"{self._name}: this transport only publishes")
        return self._consumer

    def consume(self, most: int, timeout: float) -> list[SourceRecord]:
        messages: list[Message] = self.consumer.consume(most, max(0.0, timeout))
        records: list[SourceRecord] = []
        for message in messages:
            error = message.error()
            if error is None:
                records.append(SourceRecord(
                    value=message.value() or b"", topic=message.topic() or "", partition=message.partition(),
                    offset=message.offset(), key=message.key(), appended_at=_appended_at(message),
                ))
            elif error.fatal():
                raise KafkaException(error)
            else:
                log.warning("%s consumer: %s", self._name, error.str())
        return records

    def publish(self, messages: Sequence[Outgoing]) -> None:
        failures: list[str] = []

        def delivered(error: KafkaError | None, message: Message) -> None:
            if error is not None:
                failures.append(f"{message.topic()}: {error.str()}")

        for message in messages:
            while True:
                try:
                    self._producer.produce(message.topic, value=message.value, key=message.key, on_delivery=delivered)
                    break
                except BufferError:
                    self._producer.poll(0.1)
        undelivered = self._producer.flush(PUBLISH_TIMEOUT_SECONDS)
        if failures or undelivered:
            raise PublishFailed(f"{len(failures)} failed, {undelivered} unacknowledged; first: {failures[:1]}")

    def commit(self, records: Sequence[SourceRecord]) -> None:
        ends: dict[tuple[str, int], int] = {}
        for record in records:
            if record.partition is not None and record.offset is not None:
                key = (record.topic, record.partition)
                ends[key] = max(ends.get(key, -1), record.offset)
        if not ends:
            return
        try:
            self.consumer.commit(offsets=[TopicPartition(t, p, end + 1) for (t, p), end in ends.items()],
                                  asynchronous=False)
        except KafkaException as exc:
            log.warning("%s: commit refused (%s); the batch will be redelivered, effects are idempotent", self._name, exc)

    def rewind(self) -> None:
        if self._consumer is None:
            return
        assignment = self._consumer.assignment()
        if not assignment:
            return
        for committed in self._consumer.committed(assignment, timeout=PUBLISH_TIMEOUT_SECONDS):
            offset = committed.offset if committed.offset >= 0 else OFFSET_BEGINNING
            try:
                self._consumer.seek(TopicPartition(committed.topic, committed.partition, offset))
            except KafkaException as exc:  # not fetching yet: it will start from the committed offset anyway
                log.info("%s: no seek on partition %s (%s)", self._name, committed.partition, exc)

    def has_partitions(self) -> bool:
        return self._assigned.is_set()

    def waiting(self) -> int:
        if self._consumer is None or not self._assigned.is_set():
            return 0
        total = 0
        try:
            for position in self._consumer.position(self._consumer.assignment()):
                high = self._consumer.get_watermark_offsets(position, cached=True)
                if high is not None and high[1] >= 0:
                    total += max(0, high[1] - max(position.offset, 0))
        except KafkaException:
            return 0
        return total

    def close(self) -> None:
        try:
            if self._consumer is not None:
                self._consumer.close()
        finally:
            self._producer.flush(PUBLISH_TIMEOUT_SECONDS)

    def _on_assign(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        log.info("%s: assigned partitions %s", self._name, [p.partition for p in partitions])
        if partitions:
            self._assigned.set()

    def _on_revoke(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        log.info("%s: revoked partitions %s", self._name, [p.partition for p in partitions])
        self._assigned.clear()


def _appended_at(message: Message) -> float | None:
    """The message's timestamp in Unix seconds (create or log-append time), ``None`` when it has none."""
    kind, millis = message.timestamp()
    return millis / 1000 if kind != TIMESTAMP_NOT_AVAILABLE and millis > 0 else None
