"""How a Kafka lane forms its batches, against a real broker: a lane starts a batch at most once every
``batch_max_ms``, but a lane whose batch took longer, or that sat idle, does not wait for the window."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
from confluent_kafka import Producer

from ingest.records import SourceRecord
from streams.runtimes.kafka_lane import Lane, Outgoing

pytestmark = pytest.mark.integration

WINDOW_MS = 1500


class Recorder:
    """A handler that records when each batch started and what it held, sleeping ``slow_first`` seconds
    in the first batch (a batch that takes longer than the window)."""

    def __init__(self, slow_first: float = 0.0) -> None:
        self.batches: list[tuple[float, list[bytes]]] = []
        self._slow_first = slow_first

    def __call__(self, records: list[SourceRecord]) -> list[Outgoing]:
        self.batches.append((time.monotonic(), [r.value for r in records]))
        if len(self.batches) == 1:
            time.sleep(self._slow_first)
        return []

    def values(self) -> list[bytes]:
        return [value for _, batch in self.batches for value in batch]


@pytest.fixture
def run_lane(kafka_bootstrap: str, create_topic: Callable[..., str]) -> Iterator[Callable[[Recorder], tuple[str, Lane]]]:
    """``run_lane(handler)`` starts a lane on a new topic (window ``WINDOW_MS``) in a thread, waits until it
    holds the partition, and returns the topic and the lane; the lane is stopped after the test."""
    stop = threading.Event()
    threads: list[threading.Thread] = []

    def start(handler: Recorder) -> tuple[str, Lane]:
        topic = create_topic()
        lane = Lane("test", topic=topic, handler=handler,
                    consumer_config={"bootstrap.servers": kafka_bootstrap, "group.id": topic,
                                     "enable.auto.commit": False, "auto.offset.reset": "earliest"},
                    producer_config={"bootstrap.servers": kafka_bootstrap},
                    batch_size=100, batch_max_ms=WINDOW_MS)
        thread = threading.Thread(target=lane.run, args=(stop,), daemon=True)
        thread.start()
        threads.append(thread)
        assert lane.has_partitions.wait(30), "the lane never got its partition"
        return topic, lane

    yield start
    stop.set()
    for thread in threads:
        thread.join(timeout=30)


def _produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap})
    for value in values:
        producer.produce(topic, value=value)
    producer.flush(10)


def _wait_for(recorder: Recorder, count: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while len(recorder.values()) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(recorder.values()) == count, f"{len(recorder.values())} of {count} records handled"


def test_an_idle_lane_takes_a_record_as_soon_as_it_arrives(kafka_bootstrap: str, run_lane) -> None:
    recorder = Recorder()
    topic, _ = run_lane(recorder)
    time.sleep(WINDOW_MS / 1000)  # idle for longer than a window
    sent = time.monotonic()
    _produce(kafka_bootstrap, topic, [b"first"])
    _wait_for(recorder, 1)
    started, values = recorder.batches[0]
    assert values == [b"first"]
    assert started - sent < WINDOW_MS / 1000 / 2, "an idle lane does not hold a lone record for the window"


def test_records_arriving_soon_after_a_batch_wait_for_the_window_and_share_a_batch(
    kafka_bootstrap: str, run_lane
) -> None:
    recorder = Recorder()
    topic, _ = run_lane(recorder)
    _produce(kafka_bootstrap, topic, [b"a"])
    _wait_for(recorder, 1)
    for value in (b"b", b"c", b"d"):
        _produce(kafka_bootstrap, topic, [value])
        time.sleep(0.1)
    _wait_for(recorder, 4)
    assert [values for _, values in recorder.batches] == [[b"a"], [b"b", b"c", b"d"]]
    first, second = (started for started, _ in recorder.batches)
    assert second - first >= WINDOW_MS / 1000 * 0.9, "at most one batch per window"


def test_a_lane_whose_batch_outlasted_the_window_takes_what_waits_at_once(kafka_bootstrap: str, run_lane) -> None:
    slow = WINDOW_MS / 1000 * 1.5
    recorder = Recorder(slow_first=slow)
    topic, _ = run_lane(recorder)
    _produce(kafka_bootstrap, topic, [b"a"])
    time.sleep(0.3)  # the first batch is being handled (slowly) while more arrive
    _produce(kafka_bootstrap, topic, [b"b", b"c"])
    _wait_for(recorder, 3)
    (first, _), (second, values) = recorder.batches
    assert values == [b"b", b"c"]
    assert second - (first + slow) < WINDOW_MS / 1000 / 2, "a backlogged lane starts its next batch at once"
