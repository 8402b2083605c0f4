"""The Kafka runtime's ``IntakeSink``: one idempotent librdkafka producer (acks=all) shared by every
request; ``accept`` returns once the broker acknowledged that request's messages.

Requests do not flush the producer (a flush waits for everyone's messages): each waits only for the
delivery reports of its own messages, which a background thread serves by polling the producer, so
concurrent requests share the producer's batches and one slow partition does not hold up the others.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

from confluent_kafka import KafkaError, Message, Producer

from ingest.contracts import SocialEvent
from ingest.deadletter import DeadLetter
from ingest.exceptions import IntakeUnavailable
from streams.steps.intake import intake_messages

POLL_SECONDS = 0.05
CLOSE_FLUSH_SECONDS = 30.0


class _Acks:
    """The delivery reports one request waits for."""

    def __init__(self, expected: int) -> None:
        self._left = expected
        self._lock = threading.Lock()
        self.done = threading.Event()
        self.failures: list[str] = []

    def delivered(self, error: KafkaError | None, message: Message) -> None:
        with self._lock:
            if error is not None:
                self.failures.append(f"{message.topic()}: {error.str()}")
            self._left -= 1
            if self._left == 0:
                self.done.set()


class KafkaIntakeSink:
    """``accept`` publishes events to ``scrm.events.raw`` and dead letters to ``scrm.deadletter``.
    Thread-safe. ``producer_config`` holds at least ``bootstrap.servers``; acks=all and idempotence are
    always on (``partitioner`` defaults to ``murmur2_random``, the lanes' own, so an author's events share
    a partition whoever published them). Close it to stop the polling thread and flush."""

    def __init__(self, producer_config: dict[str, Any], *, timeout_seconds: float = 10.0) -> None:
        self._producer = Producer({"linger.ms": 2, "partitioner": "murmur2_random", **producer_config, "acks": "all", "enable.idempotence": True})
        self._timeout = timeout_seconds
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll, name="intake-producer", daemon=True)
        self._poller.start()

    def accept(self, records: Sequence[SocialEvent | DeadLetter]) -> None:
        """Publish and wait for this call's acknowledgements. Blocks up to ``timeout_seconds``; raises
        ``IntakeUnavailable`` on a failed delivery or a timeout (some may be published: at least once)."""
        messages = intake_messages(records)
        if not messages:
            return
        acks = _Acks(len(messages))
        deadline = time.monotonic() + self._timeout
        for message in messages:
            while True:
                try:
                    self._producer.produce(message.topic, value=message.value, key=message.key,
                                           on_delivery=acks.delivered)
                    break
                except BufferError:  # the local queue is full: the poller makes room as reports come
                    if time.monotonic() >= deadline or self._stop.wait(POLL_SECONDS):
                        raise IntakeUnavailable("the intake producer's queue stayed full") from None
        if not acks.done.wait(max(0.0, deadline - time.monotonic())):
            raise IntakeUnavailable(f"no acknowledgement from Kafka within {self._timeout:g} s")
        if acks.failures:
            raise IntakeUnavailable(f"{len(acks.failures)} message(s) not delivered; first: {acks.failures[0]}")

    def close(self) -> None:
        """Stop polling and flush what is queued. Blocks up to 30 s."""
        self._stop.set()
        self._poller.join()
        self._producer.flush(CLOSE_FLUSH_SECONDS)

    def _poll(self) -> None:
        while not self._stop.is_set():
            self._producer.poll(POLL_SECONDS)
