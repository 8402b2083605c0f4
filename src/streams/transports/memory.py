"""In-process topics for the embedded runtime and for tests: the same contract as Kafka, no broker.

A ``MemoryBroker`` holds topics of one or more partitions, each an append-only log with offsets, and the
committed offset of every consumer group. A ``MemoryTransport`` is one consumer of one group on one topic
(it owns every partition, as a lone consumer would) plus a producer to any topic. Records stay until every
group subscribed to their topic has committed past them, so a lane that failed and rewinds gets again
exactly what it had not committed — nothing taken from a queue is lost. Thread-safe: producers (API
threads, the simulator) and the lane loop may run on different threads.

Keys choose partitions with a stable hash (CRC-32), so a key's records stay in order as on Kafka; the
exact partition numbers differ from Kafka's murmur2, which no result may depend on.
"""

from __future__ import annotations

import itertools
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ingest.records import SourceRecord
from streams.transports import Outgoing


@dataclass
class _Partition:
    base: int = 0  # offset of records[0]
    records: deque[SourceRecord] = field(default_factory=deque)

    @property
    def end(self) -> int:
        return self.base + len(self.records)


PartitionOrder = Callable[[list[int]], list[int]]
"""Given the partitions holding records, the order a consume reads them in (tests inject interleavings)."""


class MemoryBroker:
    """Topics and committed offsets in memory. ``partitions`` names topics with more than
    ``default_partitions`` partitions. A topic no group reads (in the embedded runtime: profiles, segment
    changes, assignments) keeps only its last ``unread_retention`` records per partition (``None``: all,
    as tests that read outputs want), like a topic's retention on Kafka, so a long-running process does
    not grow without bound."""

    def __init__(self, *, partitions: Mapping[str, int] | None = None, default_partitions: int = 1,
                 unread_retention: int | None = None) -> None:
        self._retention = unread_retention
        self._counts = dict(partitions or {})
        self._default = default_partitions
        self._topics: dict[str, list[_Partition]] = {}
        self._committed: dict[tuple[str, str, int], int] = {}
        self._groups: dict[str, set[str]] = {}
        self._round_robin = itertools.count()
        self._changed = threading.Condition()

    def partitions(self, topic: str) -> int:
        """How many partitions ``topic`` has."""
        return len(self._log(topic))

    def produce(self, topic: str, key: bytes | None, value: bytes | None) -> tuple[int, int]:
        """Append one record; returns its partition and offset. Never blocks for long."""
        with self._changed:
            log = self._log(topic)
            number = (zlib.crc32(key) if key is not None else next(self._round_robin)) % len(log)
            part = log[number]
            offset = part.end
            part.records.append(SourceRecord(value=value if value is not None else b"", topic=topic,
                                             partition=number, offset=offset, key=key, appended_at=time.time()))
            if self._retention is not None and topic not in self._groups and len(part.records) > self._retention:
                part.records.popleft()
                part.base += 1
            self._changed.notify_all()
            return number, offset

    def subscribe(self, group: str, topic: str) -> None:
        """Register ``group`` as a reader of ``topic``: records are kept until it commits past them."""
        with self._changed:
            self._groups.setdefault(topic, set()).add(group)
            self._log(topic)

    def committed(self, group: str, topic: str, partition: int) -> int:
        """The next offset ``group`` will read on that partition (0 before any commit)."""
        with self._changed:
            return self._committed.get((group, topic, partition), self._log(topic)[partition].base)

    def commit(self, group: str, topic: str, offsets: Mapping[int, int]) -> None:
        """Set ``group``'s next offsets on ``topic`` (``partition -> offset``); drops records every group
        has committed past."""
        with self._changed:
            for partition, offset in offsets.items():
                key = (group, topic, partition)
                self._committed[key] = max(self._committed.get(key, 0), offset)
            self._truncate(topic)

    def read(self, topic: str, partition: int, start: int, most: int) -> list[SourceRecord]:
        """Up to ``most`` records of a partition from offset ``start`` (no wait)."""
        with self._changed:
            part = self._log(topic)[partition]
            first = max(start, part.base) - part.base
            return list(itertools.islice(part.records, first, first + most))

    def ends(self, topic: str) -> list[int]:
        """Each partition's end offset (the offset the next record will get)."""
        with self._changed:
            return [part.end for part in self._log(topic)]

    def wait(self, ready: Callable[[], bool], timeout: float) -> bool:
        """Block until ``ready()`` holds (checked whenever a record is produced) or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not ready():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
            return True

    def lag(self, topics: Iterable[str] | None = None) -> int:
        """Records produced but not yet committed by every group reading them (what is still to do)."""
        with self._changed:
            total = 0
            for topic in topics if topics is not None else list(self._topics):
                for group in self._groups.get(topic, ()):
                    for number, part in enumerate(self._log(topic)):
                        total += part.end - self._committed.get((group, topic, number), part.base)
            return total

    def _log(self, topic: str) -> list[_Partition]:
        log = self._topics.get(topic)
        if log is None:
            log = self._topics[topic] = [_Partition() for _ in range(self._counts.get(topic, self._default))]
        return log

    def _truncate(self, topic: str) -> None:
        groups = self._groups.get(topic, set())
        if not groups:
            return
        for number, part in enumerate(self._log(topic)):
            low = min(self._committed.get((g, topic, number), part.base) for g in groups)
            while part.base < low and part.records:
                part.records.popleft()
                part.base += 1


class MemoryTransport:
    """One consumer of ``group`` on ``topic`` owning all its partitions, and a producer. Not thread-safe
    itself (one lane loop uses it); the broker is."""

    def __init__(self, broker: MemoryBroker, topic: str, group: str, *, order: PartitionOrder | None = None) -> None:
        self._broker = broker
        self._topic = topic
        self._group = group
        self._order = order
        broker.subscribe(group, topic)
        self._positions: list[int] = []
        self.rewind()

    def consume(self, most: int, timeout: float) -> list[SourceRecord]:
        """As Kafka's consumer: returns once ``most`` records are waiting or ``timeout`` has passed, with
        what is waiting then (up to ``most``)."""
        if timeout > 0:
            self._broker.wait(lambda: self._pending() >= most, timeout)
        ends = self._broker.ends(self._topic)
        ready = [p for p, end in enumerate(ends) if end > self._positions[p]]
        batch: list[SourceRecord] = []
        for partition in self._order(ready) if self._order else ready:
            records = self._broker.read(self._topic, partition, self._positions[partition], most - len(batch))
            batch += records
            if records:
                self._positions[partition] = records[-1].offset + 1  # type: ignore[operator]
            if len(batch) >= most:
                break
        return batch

    def publish(self, messages: Sequence[Outgoing]) -> None:
        for message in messages:
            self._broker.produce(message.topic, message.key, message.value)

    def commit(self, records: Sequence[SourceRecord]) -> None:
        ends: dict[int, int] = {}
        for record in records:
            if record.topic == self._topic and record.partition is not None and record.offset is not None:
                ends[record.partition] = max(ends.get(record.partition, 0), record.offset + 1)
        if ends:
            self._broker.commit(self._group, self._topic, ends)

    def rewind(self) -> None:
        count = self._broker.partitions(self._topic)
        self._positions = [self._broker.committed(self._group, self._topic, p) for p in range(count)]

    def has_partitions(self) -> bool:
        return True

    def waiting(self) -> int:
        return self._pending()

    def close(self) -> None:
        """Nothing to release."""

    def _pending(self) -> int:
        return sum(max(0, end - position) for end, position in zip(self._broker.ends(self._topic), self._positions,
                                                                    strict=True))
