"""The lane loop both runtimes drive: consume a batch, handle it, publish, commit — and the one batching
policy and the one failure policy around that.

Batching: a lane starts a batch at most once every ``batch_max_ms``; records arriving meanwhile join the
next one (up to ``batch_size``). A lane whose last batch took longer takes what is waiting at once, so a
backlogged lane never idles and its batches grow with the backlog; an idle lane takes a record as soon as it
arrives. Time comes from an injected ``Clock``.

Failure policy, per batch (a handler is a blocking function whose effects are idempotent: running it again
on the same records changes nothing it did before):
- records the handler cannot read come back as dead letters (``InvalidEvent`` and its kin): published to the
  dead-letter topic with the batch and counted by the per-partition guard
  (``streams.steps.deadletter_limit``), which stops the lane (``DeadLetterRatioExceeded``) when a
  partition would dead-letter nearly everything;
- a transient error (the database or the broker away, a deadlock, a publish not acknowledged) is retried with
  exponential backoff, holding the batch, up to ``transient_attempts`` times; then ``LaneFailed`` is raised so
  the process exits non-zero and a supervisor restarts it;
- any other error is retried ``poison_attempts`` times; if it persists, the batch is split in halves to
  isolate the record(s) it fails on, and each such record is dead-lettered with its bytes and the exception,
  while the rest of the batch goes on (a record of the dead-letter topic itself cannot be dead-lettered
  again: that lane stops with ``LaneFailed`` instead).
Offsets are committed only after the handler's effects and every output message are durable. After a
failure the transport is rewound to the committed offsets, so nothing taken is lost.
"""

from __future__ import annotations

import bisect
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import InterfaceError as SqlInterfaceError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from ingest.deadletter import DeadLetter
from ingest.records import SourceRecord
from streams.exceptions import DeadLetterRatioExceeded, LaneFailed, PublishFailed
from streams.steps.deadletter_limit import DeadLetterLimit
from streams.steps.decode import dead_letter
from streams.steps.intake import dead_letter_message
from streams.topics import DEADLETTER
from streams.transports import Outgoing, Transport

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Handled:
    """What a handler made of a batch: messages to publish and the records it dead-lettered."""

    messages: Sequence[Outgoing] = ()
    dead: Sequence[DeadLetter] = ()
    suppressed: int = 0
    """Records of erased people the handler dropped (``profile_store.privacy``): counted, never stored."""


Handler = Callable[[list[SourceRecord]], Handled]


class Clock(Protocol):
    """Monotonic time, wall time (Unix seconds) and waiting; ``wait`` returns early (``True``) when
    ``stop`` is set."""

    def monotonic(self) -> float: ...

    def time(self) -> float: ...

    def wait(self, stop: threading.Event, seconds: float) -> bool: ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        return stop.wait(seconds)


class FailurePolicy(BaseModel):
    """How a lane meets failing batches (``SCRM_PIPELINE__FAILURES__TRANSIENT_ATTEMPTS=12`` …)."""

    model_config = ConfigDict(frozen=True)

    transient_attempts: int = Field(default=10, ge=1, description="tries of a batch while the database or broker is away, then exit")
    poison_attempts: int = Field(default=3, ge=1, description="tries of a batch failing otherwise before isolating the record(s) it fails on")
    backoff_seconds: float = Field(default=0.5, ge=0.0)
    max_backoff_seconds: float = Field(default=30.0, ge=0.0)


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` says a dependency is away (worth waiting for) rather than that the input or the code
    is wrong: database connection loss, lock timeouts and deadlocks, pool exhaustion, an unacknowledged
    publish, socket errors."""
    if isinstance(exc, (OperationalError, SqlInterfaceError, PoolTimeout, PublishFailed, ConnectionError, TimeoutError)):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    try:
        from confluent_kafka import KafkaException
    except ImportError:  # pragma: no cover - confluent-kafka is a dependency
        return False
    if isinstance(exc, KafkaException) and exc.args:
        error = exc.args[0]
        return bool(getattr(error, "retriable", lambda: False)()) and not getattr(error, "fatal", lambda: True)()
    return False


@dataclass
class Buckets:
    """A histogram with fixed upper bounds (Prometheus ``le``): counts per bucket, their sum and count.
    Written by one lane thread, read by scrapes (a read may see one observation half counted)."""

    bounds: tuple[float, ...]
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    count: int = 0

    def __post_init__(self) -> None:
        self.counts = [0] * (len(self.bounds) + 1)

    def observe(self, value: float, times: int = 1) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += times
        self.total += value * times
        self.count += times


BATCH_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
RECORD_AGE_SECONDS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)


@dataclass
class LaneStats:
    """Counters a lane keeps (read from other threads; ints, so no lock). ``batch_seconds``: how long each
    batch took (handle, publish, commit); ``record_age_seconds``: per record, from its append to its topic
    to the end of the batch that finished it (for the enrich lane: raw in -> enriched out)."""

    batches: int = 0
    records: int = 0
    dead_lettered: int = 0
    suppressed: int = 0
    poison: int = 0
    retries: int = 0
    published: int = 0
    busy_seconds: float = 0.0
    waiting: int = 0
    """Records this lane has yet to finish: its transport's lag plus the batch in hand (as of its last step)."""
    last_batch_at: float | None = None
    batch_seconds: Buckets = field(default_factory=lambda: Buckets(BATCH_SECONDS))
    record_age_seconds: Buckets = field(default_factory=lambda: Buckets(RECORD_AGE_SECONDS))


TripListener = Callable[[DeadLetterRatioExceeded], None]


@dataclass
class LaneLoop:
    """A lane: ``transport`` in, ``handler`` over each batch, outputs and dead letters out. ``run`` blocks
    until ``stop`` is set; raises ``DeadLetterRatioExceeded`` (guard tripped, after ``on_trip``) or
    ``LaneFailed`` (transient failure outlasted its retries). Nothing of a failed batch is committed."""

    name: str
    transport: Transport
    handler: Handler
    batch_size: int
    batch_max_ms: int
    guard: DeadLetterLimit
    policy: FailurePolicy = field(default_factory=FailurePolicy)
    clock: Clock = field(default_factory=SystemClock)
    idle_wait_seconds: float = 1.0
    on_trip: TripListener | None = None
    stats: LaneStats = field(default_factory=LaneStats)
    _started: float = -math.inf

    def run(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                self.step(stop)
        except Stopped:
            log.info("%s: stopped with a batch unfinished; it will be delivered again", self.name)
        finally:
            self.transport.close()

    def step(self, stop: threading.Event, *, idle_wait: float | None = None, gather: bool = True) -> int:
        """Take and finish one batch; returns its size (0 when nothing came within the idle wait).
        ``gather=False`` takes what is waiting without waiting for the batch window (draining a file)."""
        records = self._next_batch(self.idle_wait_seconds if idle_wait is None else idle_wait, gather)
        beyond = self.transport.waiting()
        self.stats.waiting = beyond + len(records)
        if not records:
            return 0
        self._started = self.clock.monotonic()
        try:
            handled = self._handle(records, stop)
            self._count(records, handled.dead)
            outgoing = [*handled.messages, *(dead_letter_message(letter) for letter in handled.dead)]
            self._transient(stop, "publish", lambda: self.transport.publish(outgoing))
            self.transport.commit(records)
        except BaseException:
            self.transport.rewind()
            raise
        finished = self.clock.monotonic()
        self.stats.batches += 1
        self.stats.records += len(records)
        self.stats.dead_lettered += len(handled.dead)
        self.stats.suppressed += handled.suppressed
        self.stats.published += len(outgoing)
        self.stats.busy_seconds += finished - self._started
        self.stats.batch_seconds.observe(finished - self._started)
        now = self.clock.time()
        for record in records:
            if record.appended_at is not None:
                self.stats.record_age_seconds.observe(max(0.0, now - record.appended_at))
        self.stats.waiting = beyond  # what was beyond the batch when it was taken (one lag read per batch)
        self.stats.last_batch_at = finished
        return len(records)

    def _next_batch(self, idle_wait: float, gather: bool) -> list[SourceRecord]:
        window = self._started + self.batch_max_ms / 1000 - self.clock.monotonic() if gather else 0.0
        records = self.transport.consume(self.batch_size, max(0.0, window))
        if records or idle_wait <= 0:
            return records
        first = self.transport.consume(1, idle_wait)
        if not first or self.batch_size == 1:
            return first
        return first + self.transport.consume(self.batch_size - 1, 0)

    def _handle(self, records: list[SourceRecord], stop: threading.Event) -> Handled:
        """The handler's result for ``records``: retried while it fails, then split to isolate poison."""
        attempts = 0
        while True:
            try:
                return self._transient(stop, "batch", lambda: self.handler(records))
            except (LaneFailed, Stopped):
                raise
            except Exception as exc:
                attempts += 1
                if attempts >= self.policy.poison_attempts:
                    return self._split(records, exc, stop)
                log.warning("%s: batch of %d failed (%s); trying again", self.name, len(records), type(exc).__name__)
                self.stats.retries += 1
                self._backoff(stop, attempts)

    def _isolated(self, records: list[SourceRecord], stop: threading.Event) -> Handled:
        """One try of a part of a failing batch; what fails again is split further."""
        try:
            return self._transient(stop, "batch", lambda: self.handler(records))
        except (LaneFailed, Stopped):
            raise
        except Exception as exc:
            return self._split(records, exc, stop)

    def _split(self, records: list[SourceRecord], exc: Exception, stop: threading.Event) -> Handled:
        if len(records) == 1:
            record = records[0]
            if record.topic == DEADLETTER:  # its dead letter would come straight back: stop loudly instead
                raise LaneFailed(f"{self.name}: cannot store the dead letter at {record.topic}/{record.partition}/"
                                 f"{record.offset}: {type(exc).__name__}") from exc
            self.stats.poison += 1
            log.error("%s: the record at %s/%s/%s fails every time (%s); dead-lettered, the lane goes on",
                      self.name, record.topic, record.partition, record.offset, type(exc).__name__)
            return Handled(dead=[_poison_letter(record, self.name, exc)])
        half = len(records) // 2
        left, right = self._isolated(records[:half], stop), self._isolated(records[half:], stop)
        return Handled(messages=[*left.messages, *right.messages], dead=[*left.dead, *right.dead])

    def _transient(self, stop: threading.Event, what: str, attempt: Callable[[], Handled | None]) -> Handled:
        tries = 0
        while True:
            try:
                return attempt() or Handled()
            except Exception as exc:
                if not is_transient(exc):
                    raise
                tries += 1
                if tries >= self.policy.transient_attempts:
                    raise LaneFailed(f"{self.name} {what}: {type(exc).__name__} after {tries} tries: {cause_of(exc)}") from exc
                log.warning("%s %s failed (%s: %s); retrying (%d of %d), offsets not committed meanwhile",
                            self.name, what, type(exc).__name__, cause_of(exc), tries, self.policy.transient_attempts)
                self.stats.retries += 1
                self._backoff(stop, tries)

    def _backoff(self, stop: threading.Event, attempt: int) -> None:
        delay = min(self.policy.max_backoff_seconds, self.policy.backoff_seconds * 2 ** (attempt - 1))
        if self.clock.wait(stop, delay):
            raise Stopped(self.name)

    def _count(self, records: list[SourceRecord], dead: Sequence[DeadLetter]) -> None:
        dead_at = {(d.source_topic, d.partition, d.offset) for d in dead}
        try:
            for record in records:
                self.guard.record(record.topic, record.partition, record.offset,
                                  (record.topic, record.partition, record.offset) in dead_at)
        except DeadLetterRatioExceeded as exc:
            if self.on_trip is not None:
                self.on_trip(exc)
            raise


class Stopped(Exception):
    """The lane was asked to stop while a batch was waiting to be retried; its offsets stay uncommitted."""


def _poison_letter(record: SourceRecord, lane: str, exc: Exception) -> DeadLetter:
    """The dead letter of a record ``lane`` fails on every time. A database error's own message is kept,
    not SQLAlchemy's, which would list the statement's parameters (other records' data)."""
    return dead_letter(record, stage=lane, error=f"poison: the {lane} lane failed on this record every time: "
                       f"{type(exc).__name__}: {cause_of(exc)[:500]}", now=datetime.now(UTC))


def cause_of(exc: BaseException) -> str:
    """What to say of ``exc`` in logs and dead letters: a database error's own message, never SQLAlchemy's,
    which appends the statement and its parameters (posts, personal data)."""
    return str(exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc)
