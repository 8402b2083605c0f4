"""The embedded runtime: one process, in-memory topics, the same lanes and loop as the Kafka runtime.

``publish`` appends to the in-process ``scrm.events.raw`` (a ``MemoryBroker`` topic); one processing thread
steps every lane of ``streams.lanes`` in data-flow order (enrich, apply, alert, identity, dead letters), each
a ``LaneLoop`` over a ``MemoryTransport`` with its own consumer group — so a batch is enriched, applied, then
alerted, and records a lane has not committed are delivered to it again after a failure. Durable state lives
in the data dir (SQLite + chDB); the in-memory topics do not survive a restart, so sources replay
(idempotency makes that safe).

It never serves a dead pipeline: a lane whose database stayed away past its retries (``LaneFailed``) or that
failed unexpectedly is restarted from its committed position, at most ``MAX_RESTARTS`` times in a row; the
dead-letter guard tripping, or the restarts running out, stops the runtime with ``failure`` and ``exit_code`` set, and
the process serving it must exit with that code (``scrm demo`` does).
"""

from __future__ import annotations

import logging
import queue
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import TypeVar

from alerts.contracts import Alert
from enrichment.protocols import Enricher
from profile_store.contracts import LinkSignal
from profile_store.privacy import PrivacyKey
from streams.alert_batch import AlertOutcome
from streams.config import PipelineConfig
from streams.exceptions import EXIT_DEAD_LETTERS, EXIT_UNAVAILABLE, DeadLetterRatioExceeded
from streams.identity_service import IdentityChanges
from streams.jobs.analytics_sync import sync_analytics
from streams.jobs.centrality import recompute_centrality
from streams.jobs.retention import RetentionCounts, logged_retention_pass
from streams.jobs.suggestions import refresh_suggestions
from streams.lanes import LaneContext, LaneHooks, lane_loop, lane_specs
from streams.loop import LaneLoop, SystemClock
from streams.storage import Storage
from streams.topics import IDENTITY_LINKS, RAW_EVENTS
from streams.transports import Outgoing
from streams.transports.memory import MemoryBroker, MemoryTransport, PartitionOrder
from streams.unit_of_work import BatchOutcome

log = logging.getLogger(__name__)

T = TypeVar("T")
IDLE_WAIT_SECONDS = 0.2  # an idle processing thread looks at link signals, jobs and ``stop`` this often
MAX_RESTARTS = 5
GROUP = "embedded"

AlertListener = Callable[[Alert], None]


UNREAD_RETENTION = 1000
"""Records kept per partition of a topic nothing in the process reads (``MemoryBroker``)."""


@dataclass
class RuntimeStats:
    """Counters since start (read by the API's status route and the CLI's progress line)."""

    received: int = 0
    processed: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    suppressed: int = 0
    alerts: int = 0
    merges: int = 0
    batches: int = 0
    restarts: int = 0
    started_at: float = field(default_factory=time.monotonic)

    def snapshot(self) -> dict[str, float]:
        elapsed = max(1e-9, time.monotonic() - self.started_at)
        return {
            "received": self.received,
            "processed": self.processed,
            "duplicates": self.duplicates,
            "dead_lettered": self.dead_lettered,
            "suppressed": self.suppressed,
            "alerts": self.alerts,
            "merges": self.merges,
            "batches": self.batches,
            "restarts": self.restarts,
            "events_per_second": round(self.processed / elapsed, 1),
        }


class EmbeddedRuntime:
    """Drives the pipeline in-process. ``publish`` and ``submit_links`` are thread-safe; ``drain`` and
    ``run`` must be called from one thread at a time. ``partitions`` and ``order`` shape the in-memory topics
    (tests use them to interleave partitions as Kafka may)."""

    def __init__(
        self,
        *,
        config: PipelineConfig,
        enricher: Enricher,
        storage: Storage,
        partitions: int = 1,
        order: PartitionOrder | None = None,
        privacy: PrivacyKey | None = None,
    ) -> None:
        self._config = config
        self.privacy = privacy or PrivacyKey(secrets.token_bytes(32))
        """The suppression list's key (``scrm.wiring`` passes the data dir's; tests get a random one)."""
        self._storage = storage
        self._broker = MemoryBroker(partitions={IDENTITY_LINKS: 1}, default_partitions=partitions,
                                    unread_retention=UNREAD_RETENTION)
        self._listeners: list[AlertListener] = []
        self._drained: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self._requests: queue.SimpleQueue[tuple[Callable[[], object], Future[object]]] = queue.SimpleQueue()
        self._running = False
        self.stats = RuntimeStats()
        self.failure: str | None = None
        self.exit_code = 0
        hooks = LaneHooks(applied=self._applied, alerted=self._alerted, linked=self._linked)
        context = LaneContext(pipeline=config, storage=storage, enricher=lambda: enricher, privacy=self.privacy,
                              hooks=hooks, partitions=self._broker.partitions)
        self._loops: tuple[LaneLoop, ...] = tuple(
            lane_loop(spec, MemoryTransport(self._broker, spec.topic, f"{GROUP}{spec.group_suffix}", order=order),
                      context, clock=SystemClock())
            for spec in lane_specs()
        )

    def subscribe_alerts(self, listener: AlertListener) -> None:
        """Call ``listener`` with every alert raised (from the processing thread; keep it quick)."""
        self._listeners.append(listener)

    def on_drained(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` (on the processing thread) whenever every topic is handled: everything
        published before that moment has reached durable state (an intake journal may forget it then)."""
        self._drained.append(listener)

    def publish(self, value: bytes, key: bytes | None = None, *, topic: str = RAW_EVENTS) -> None:
        """Append one message to an in-process topic (``scrm.events.raw`` unless ``topic`` says otherwise,
        as a dead-letter replay may). Never blocks for long."""
        self._broker.produce(topic, key, value)
        with self._lock:
            self.stats.received += 1

    def emit(self, messages: Sequence[Outgoing]) -> None:
        """Append messages a job made (the segment sweep's changes) to their in-process topics; they are not
        received events. Thread-safe; never blocks for long."""
        for message in messages:
            self._broker.produce(message.topic, message.key, message.value)

    def submit_links(self, signals: Sequence[LinkSignal]) -> None:
        """Append link / unlink signals to the in-process ``scrm.identity.links``; applied in order on the
        processing thread. Thread-safe."""
        for signal in signals:
            self._broker.produce(IDENTITY_LINKS, None, signal.model_dump_json().encode())

    def pending(self) -> int:
        """Records published (events, link signals, dead letters, intermediate messages) not yet handled."""
        return self._broker.lag()

    def lanes(self) -> tuple[LaneLoop, ...]:
        """The lanes, in data-flow order (their ``stats`` are read by status reports)."""
        return self._loops

    def between_batches(self, call: Callable[[], T]) -> T:
        """Run ``call`` on the processing thread between two batches while ``run`` runs (so no lane
        transaction interleaves with it: an erasure), else on this thread; returns what it returns and raises
        what it raises. Blocks until it ran."""
        if not self._running:
            return call()
        future: Future[object] = Future()
        self._requests.put((call, future))
        return future.result()  # type: ignore[return-value]

    def _serve_requests(self) -> None:
        while True:
            try:
                call, future = self._requests.get_nowait()
            except queue.Empty:
                return
            try:
                future.set_result(call())
            except BaseException as exc:  # the caller gets it; the pipeline goes on
                future.set_exception(exc)

    def drain(self) -> None:
        """Process until every topic is handled. Blocks; raises ``DeadLetterRatioExceeded`` when the guard
        trips and ``LaneFailed`` when the database stays away (nothing uncommitted is lost)."""
        stop = threading.Event()
        while self._cycle(stop, gather=False):
            pass
        self.sync_analytics()

    def run(self, stop: threading.Event) -> None:
        """Process until ``stop`` is set; every ``jobs_interval_seconds`` also recompute centrality and
        identity suggestions, and every ``retention_interval_seconds`` (first at start) apply the retention
        policy. Restarts failed lanes (see the module docstring); returns with ``failure`` set when it gives
        up. Blocks."""
        self._running = True
        try:
            self._run(stop)
        finally:
            self._running = False
            self._serve_requests()

    def _run(self, stop: threading.Event) -> None:
        next_jobs = time.monotonic() + self._config.jobs_interval_seconds
        next_sync = time.monotonic() + self._config.analytics_sync_seconds
        next_retention = time.monotonic()
        restarts = 0
        while not stop.is_set():
            self._serve_requests()
            try:
                if not self._cycle(stop, gather=True):
                    self._broker.wait(lambda: self._broker.lag() > 0 or stop.is_set(), IDLE_WAIT_SECONDS)
                restarts = 0
            except DeadLetterRatioExceeded as exc:
                self._fail(str(exc), EXIT_DEAD_LETTERS)
                return
            except Exception as exc:
                restarts += 1
                self.stats.restarts += 1
                if restarts > MAX_RESTARTS:
                    self._fail(f"the pipeline failed {restarts} times in a row; last: {type(exc).__name__}: {exc}",
                               EXIT_UNAVAILABLE)
                    return
                log.exception("pipeline failed; restarting its lanes from their committed positions (%d of %d)",
                              restarts, MAX_RESTARTS)
                failures = self._config.failures
                if stop.wait(min(failures.max_backoff_seconds, failures.backoff_seconds * 2 ** restarts)):
                    return
            if time.monotonic() >= next_jobs:
                self.run_jobs()
                next_jobs = time.monotonic() + self._config.jobs_interval_seconds
            if time.monotonic() >= next_sync:
                self.sync_analytics()
                next_sync = time.monotonic() + self._config.analytics_sync_seconds
            if time.monotonic() >= next_retention:
                self.apply_retention()
                next_retention = time.monotonic() + self._config.retention_interval_seconds

    def run_jobs(self) -> None:
        """Recompute network centrality and identity suggestions now (auto-accepted suggestions become
        link signals). Blocks; a failure is logged and retried at the next interval."""
        try:
            recompute_centrality(self._storage.session_factory)
            _, signals = refresh_suggestions(
                self._storage.session_factory,
                min_score=self._config.suggestion_min_score,
                auto_merge_threshold=self._config.suggestion_auto_merge_threshold,
            )
            self.submit_links(signals)
        except Exception:
            log.exception("periodic identity jobs failed; retrying at the next interval")

    def sync_analytics(self) -> None:
        """Copy new incident versions, alerts, segment changes and connector health to ClickHouse now
        (``streams.jobs.analytics_sync``; nothing without ClickHouse). Blocks; a failure is logged and the
        next pass repeats it."""
        if self._storage.analytics is None:
            return
        try:
            sync_analytics(self._storage.session_factory, self._storage.analytics)
        except Exception:
            log.exception("analytics sync failed; the next pass repeats it")

    def apply_retention(self) -> RetentionCounts | None:
        """One retention pass now (``streams.jobs.retention``), on the SQL state and chDB; its counts, or
        ``None`` when it failed (logged; the next pass repeats it). Blocks the processing thread meanwhile."""
        return logged_retention_pass(self._storage.session_factory, self._storage.analytics, self._config.retention)

    def _cycle(self, stop: threading.Event, *, gather: bool) -> int:
        """One batch of every lane that has records, in data-flow order; returns how many were handled."""
        done = 0
        for loop in self._loops:
            done += loop.step(stop, idle_wait=0, gather=gather)
        self.stats.dead_lettered = sum(loop.stats.dead_lettered for loop in self._loops)
        self.stats.suppressed = sum(loop.stats.suppressed for loop in self._loops)
        if done and self._drained and self._broker.lag() == 0:
            for listener in self._drained:
                listener()
        return done

    def _fail(self, reason: str, exit_code: int) -> None:
        log.critical("embedded pipeline stopped: %s", reason)
        self.failure, self.exit_code = reason, exit_code

    def _applied(self, outcome: BatchOutcome) -> None:
        self.stats.batches += 1
        self.stats.processed += len(outcome.applied)
        self.stats.duplicates += outcome.seen - len(outcome.applied)

    def _alerted(self, outcome: AlertOutcome) -> None:
        new_alerts = outcome.new_alerts()
        self.stats.alerts += len(new_alerts)
        for alert in new_alerts:
            for listener in self._listeners:
                listener(alert)

    def _linked(self, changes: IdentityChanges) -> None:
        self.stats.merges += sum(1 for record in changes.history if record.kind == "merge")
