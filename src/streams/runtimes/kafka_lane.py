"""One consumer lane of the Kafka runtime: a thread that consumes batches, hands them to a blocking
handler and publishes what the handler returns, then commits — at least once, never ahead of effects.

Built on librdkafka (``confluent-kafka``): fetching, heartbeats and producing run in librdkafka's own C
threads, so a lane's Python thread spends its time in the handler, not in client bookkeeping. Each lane
owns its consumer and its producer; nothing here is shared between threads.

Per batch: a lane starts a batch at most once every ``batch_max_ms``; messages arriving meanwhile join
the next one (up to ``batch_size``). A lane whose last batch took longer takes what is waiting at once,
so a backlogged lane never idles and its batches grow with the backlog; an idle lane takes a message as
soon as it arrives (``next_batch``). Then run the handler until it succeeds (transient failures retry
with exponential backoff, holding the batch, as at-least-once requires), produce its messages and wait for
the broker's acknowledgement of every one, and only then commit the batch's offsets synchronously. A
rebalance can only happen inside ``consume``, when no batch is in flight; a commit refused because the
group moved on (a handler stuck past ``max.poll.interval.ms``) is logged and the batch is redelivered to
the partition's next owner — harmless, effects are idempotent.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from ingest.records import SourceRecord
from streams.exceptions import DeadLetterRatioExceeded, PublishFailed

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 30.0
IDLE_WAIT_SECONDS = 1.0
PUBLISH_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message to publish: topic, key, value (``None`` value = tombstone)."""

    topic: str
    key: bytes | None
    value: bytes | None


Handler = Callable[[list[SourceRecord]], list[Outgoing]]


@dataclass
class LaneStats:
    """Counters a lane keeps for its progress log (read from other threads; ints, so no lock)."""

    batches: int = 0
    records: int = 0


class Stopped(Exception):
    """The lane was asked to stop while a batch was still being retried; its offsets stay uncommitted."""


class Lane:
    """A consumer thread over ``topic``; ``has_partitions`` is set while the group assigns it any.
    ``run`` blocks until ``stop`` is set; a
    ``DeadLetterRatioExceeded`` from the handler propagates (the caller stops the process, nothing of the
    batch committed); every other handler or publish failure is retried."""

    def __init__(
        self,
        name: str,
        *,
        topic: str,
        handler: Handler,
        consumer_config: dict[str, Any],
        producer_config: dict[str, Any],
        batch_size: int,
        batch_max_ms: int,
    ) -> None:
        self.name = name
        self.stats = LaneStats()
        self._topic = topic
        self._handler = handler
        self._consumer_config = consumer_config
        self._producer_config = producer_config
        self._batch_size = batch_size
        self._batch_seconds = batch_max_ms / 1000
        self.has_partitions = threading.Event()

    def run(self, stop: threading.Event) -> None:
        consumer = Consumer(self._consumer_config)
        producer = Producer(self._producer_config)
        consumer.subscribe([self._topic], on_assign=self._assigned, on_revoke=self._revoked)
        started = -math.inf  # no batch yet: the first record is taken as soon as it arrives
        try:
            while not stop.is_set():
                records = _records(next_batch(consumer, self._batch_size, started + self._batch_seconds))
                if not records:
                    continue
                started = time.monotonic()
                outgoing = _until_done(f"{self.name} batch", stop, self._handler, records)
                _until_done(f"{self.name} publish", stop, publish, producer, outgoing)
                _commit(consumer, records)
                self.stats.batches += 1
                self.stats.records += len(records)
        except Stopped:
            log.info("%s: stopped with a batch unfinished; it will be redelivered", self.name)
        finally:
            consumer.close()
            producer.flush(PUBLISH_TIMEOUT_SECONDS)

    def _assigned(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        log.info("%s: assigned partitions %s", self.name, [p.partition for p in partitions])
        if partitions:
            self.has_partitions.set()

    def _revoked(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        log.info("%s: revoked partitions %s", self.name, [p.partition for p in partitions])
        self.has_partitions.clear()


def next_batch(consumer: Consumer, size: int, gather_until: float) -> list[Message]:
    """Up to ``size`` messages: those arriving until ``gather_until`` (``time.monotonic``), or those
    already fetched when it has passed; when there are none, the first to arrive within
    ``IDLE_WAIT_SECONDS`` with those fetched along with it. Blocks; empty when nothing arrived."""
    messages: list[Message] = consumer.consume(size, max(0.0, gather_until - time.monotonic()))
    if messages:
        return messages
    first: list[Message] = consumer.consume(1, IDLE_WAIT_SECONDS)
    if not first or size == 1:
        return first
    return first + consumer.consume(size - 1, 0)


def publish(producer: Producer, messages: Sequence[Outgoing]) -> None:
    """Produce ``messages`` and wait until the broker acknowledged every one. Blocks; raises
    ``PublishFailed`` when any was not delivered (retrying may then publish some twice: at least once)."""
    failures: list[str] = []

    def delivered(error: KafkaError | None, message: Message) -> None:
        if error is not None:
            failures.append(f"{message.topic()}: {error.str()}")

    for message in messages:
        while True:
            try:
                producer.produce(message.topic, value=message.value, key=message.key, on_delivery=delivered)
                break
            except BufferError:
                producer.poll(0.1)
    undelivered = producer.flush(PUBLISH_TIMEOUT_SECONDS)
    if failures or undelivered:
        raise PublishFailed(f"{len(failures)} failed, {undelivered} unacknowledged; first: {failures[:1]}")


def _records(messages: Sequence[Message]) -> list[SourceRecord]:
    """The data messages of a ``consume`` result; a fatal client error raises, others are logged
    (librdkafka retries them itself)."""
    records: list[SourceRecord] = []
    for message in messages:
        error = message.error()
        if error is None:
            records.append(SourceRecord(
                value=message.value() or b"", topic=message.topic() or "", partition=message.partition(),
                offset=message.offset(), key=message.key(),
            ))
        elif error.fatal():
            raise KafkaException(error)
        else:
            log.warning("consumer: %s", error.str())
    return records


def _commit(consumer: Consumer, records: Sequence[SourceRecord]) -> None:
    """Commit past the last record of each partition in ``records``. Blocks until the broker answers."""
    ends: dict[tuple[str, int], int] = {}
    for record in records:
        if record.partition is not None and record.offset is not None:
            ends[(record.topic, record.partition)] = max(ends.get((record.topic, record.partition), -1), record.offset)
    try:
        consumer.commit(offsets=[TopicPartition(t, p, end + 1) for (t, p), end in ends.items()], asynchronous=False)
    except KafkaException as exc:
        log.warning("commit refused (%s); the batch will be redelivered, effects are idempotent", exc)


def _until_done(what: str, stop: threading.Event, attempt: Callable[..., Any], *args: Any) -> Any:
    """``attempt(*args)`` until it succeeds, backing off exponentially. ``DeadLetterRatioExceeded``
    propagates at once; raises ``Stopped`` when ``stop`` is set while waiting to retry."""
    delay = 0.5
    while True:
        try:
            return attempt(*args)
        except DeadLetterRatioExceeded:
            raise
        except Exception:
            log.exception("%s failed; retrying in %.1fs (offsets are not committed meanwhile)", what, delay)
            if stop.wait(delay):
                raise Stopped(what) from None
            delay = min(MAX_BACKOFF_SECONDS, delay * 2)
