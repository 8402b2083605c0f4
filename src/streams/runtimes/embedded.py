"""The embedded runtime: one process, in-memory topics, the same steps as the Kafka runtime.

``publish`` appends to the in-process ``scrm.events.raw``; a single processing thread takes batches of up
to ``batch_size`` records (starting one at most every ``batch_max_ms``; records arriving meanwhile join
the next), decodes, resolves, enriches and applies them in order, then raises their alerts (the Kafka
runtime's ``apply`` and ``alert`` lanes, one after the other). Durable state lives in the data dir
(SQLite + chDB); the in-memory topic does not survive a restart, so sources replay (idempotency makes
that safe).
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from alerts.contracts import Alert
from enrichment.protocols import Enricher
from ingest.deadletter_store import record_dead_letters
from ingest.records import SourceRecord
from profile_store.contracts import LinkSignal
from profile_store.profile_cache import ProfileCache
from streams.alert_batch import alert_enriched_batch
from streams.config import PipelineConfig
from streams.identity_service import apply_link_signals
from streams.intake import take_in
from streams.jobs.centrality import recompute_centrality
from streams.jobs.suggestions import refresh_suggestions
from streams.steps.deadletter_limit import DeadLetterLimit
from streams.storage import Storage
from streams.topics import RAW_EVENTS
from streams.unit_of_work import apply_enriched_batch

log = logging.getLogger(__name__)

IDLE_WAIT_SECONDS = 0.2  # an idle processing thread looks at link signals, jobs and ``stop`` this often

AlertListener = Callable[[Alert], None]


@dataclass
class RuntimeStats:
    """Counters since start (read by the API's status route and the CLI's progress line)."""

    received: int = 0
    processed: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    alerts: int = 0
    merges: int = 0
    batches: int = 0
    started_at: float = field(default_factory=time.monotonic)

    def snapshot(self) -> dict[str, float]:
        elapsed = max(1e-9, time.monotonic() - self.started_at)
        return {
            "received": self.received,
            "processed": self.processed,
            "duplicates": self.duplicates,
            "dead_lettered": self.dead_lettered,
            "alerts": self.alerts,
            "merges": self.merges,
            "batches": self.batches,
            "events_per_second": round(self.processed / elapsed, 1),
        }


class EmbeddedRuntime:
    """Drives the pipeline in-process. ``publish`` is thread-safe; ``drain`` and ``run`` must be called
    from one thread at a time."""

    def __init__(
        self,
        *,
        config: PipelineConfig,
        enricher: Enricher,
        storage: Storage,
    ) -> None:
        self._config = config
        self._enricher = enricher
        self._storage = storage
        self._raw: queue.Queue[SourceRecord] = queue.Queue()
        self._links: queue.Queue[LinkSignal] = queue.Queue()
        self._next_offset = 0
        self._offset_lock = threading.Lock()
        self._dead_letter_limit = DeadLetterLimit(
            max_ratio=config.dead_letter_max_ratio, window=config.dead_letter_window
        )
        self._listeners: list[AlertListener] = []
        self._profile_cache = ProfileCache(config.profile_cache_size)
        self.stats = RuntimeStats()

    def subscribe_alerts(self, listener: AlertListener) -> None:
        """Call ``listener`` with every alert raised (from the processing thread; keep it quick)."""
        self._listeners.append(listener)

    def publish(self, value: bytes, key: bytes | None = None) -> None:
        """Append one raw message to the in-process ``scrm.events.raw``. Never blocks for long."""
        with self._offset_lock:
            offset = self._next_offset
            self._next_offset += 1
            self.stats.received += 1
        self._raw.put(SourceRecord(value=value, topic=RAW_EVENTS, partition=0, offset=offset, key=key))

    def submit_links(self, signals: Sequence[LinkSignal]) -> None:
        """Append link / unlink signals to the in-process ``scrm.identity.links``; applied in order on the
        processing thread after the current batch. Thread-safe."""
        for signal in signals:
            self._links.put(signal)

    def pending(self) -> int:
        """Messages (events and link signals) published but not yet taken for processing."""
        return self._raw.qsize() + self._links.qsize()

    def drain(self) -> None:
        """Process until the raw and link topics are empty. Blocks."""
        while True:
            batch = self._take(time.monotonic(), idle_wait_seconds=0.0)
            if batch:
                self._process(batch)
            self._apply_links()
            if not batch and self._links.empty():
                return

    def run(self, stop: threading.Event) -> None:
        """Process until ``stop`` is set, then finish what was taken; every ``jobs_interval_seconds`` also
        recompute centrality and identity suggestions. Blocks."""
        next_jobs = time.monotonic() + self._config.jobs_interval_seconds
        started = -math.inf  # no batch yet: the first record is taken as soon as it arrives
        while not stop.is_set():
            batch = self._take(started + self._config.batch_max_ms / 1000, idle_wait_seconds=IDLE_WAIT_SECONDS)
            if batch:
                started = time.monotonic()
                self._process(batch)
            self._apply_links()
            if time.monotonic() >= next_jobs:
                self.run_jobs()
                next_jobs = time.monotonic() + self._config.jobs_interval_seconds

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

    def _apply_links(self) -> None:
        signals: list[LinkSignal] = []
        while True:
            try:
                signals.append(self._links.get_nowait())
            except queue.Empty:
                break
        if signals:
            changes = apply_link_signals(signals, session_factory=self._storage.session_factory)
            self.stats.merges += sum(1 for record in changes.history if record.kind == "merge")

    def _take(self, gather_until: float, *, idle_wait_seconds: float) -> list[SourceRecord]:
        """Up to ``batch_size`` records: those arriving until ``gather_until`` (``time.monotonic``), or those
        queued when it has passed; when there are none, the first to arrive within ``idle_wait_seconds``
        with those queued along with it."""
        batch: list[SourceRecord] = []
        while len(batch) < self._config.batch_size and (remaining := gather_until - time.monotonic()) > 0:
            try:
                batch.append(self._raw.get(timeout=remaining))
            except queue.Empty:
                break
        batch += self._queued(self._config.batch_size - len(batch))
        if batch or idle_wait_seconds <= 0:
            return batch
        try:
            first = self._raw.get(timeout=idle_wait_seconds)
        except queue.Empty:
            return batch
        return [first, *self._queued(self._config.batch_size - 1)]

    def _queued(self, most: int) -> list[SourceRecord]:
        """Up to ``most`` records already queued, without waiting."""
        batch: list[SourceRecord] = []
        while len(batch) < most:
            try:
                batch.append(self._raw.get_nowait())
            except queue.Empty:
                break
        return batch

    def _process(self, records: list[SourceRecord]) -> None:
        intake = take_in(
            records,
            enricher=self._enricher,
            session_factory=self._storage.session_factory,
            limit=self._dead_letter_limit,
            now=datetime.now(UTC),
        )
        if intake.dead:
            with self._storage.session_factory() as session, session.begin():
                record_dead_letters(intake.dead, session=session)
            for letter in intake.dead:
                log.warning("dead-lettered offset %s: %s", letter.offset, letter.error)
        outcome = apply_enriched_batch(
            intake.enriched,
            session_factory=self._storage.session_factory,
            analytics=self._storage.analytics,
            profile_cache=self._profile_cache,
        )
        self.submit_links(outcome.identity_signals)
        raised = alert_enriched_batch(intake.enriched, session_factory=self._storage.session_factory,
                                      config=self._config.alerts)
        self.stats.batches += 1
        self.stats.processed += len(outcome.applied)
        self.stats.duplicates += len(intake.enriched) - len(outcome.applied)
        self.stats.dead_lettered += len(intake.dead)
        new_alerts = raised.new_alerts()
        self.stats.alerts += len(new_alerts)
        for alert in new_alerts:
            for listener in self._listeners:
                listener(alert)
