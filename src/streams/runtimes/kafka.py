"""The Kafka runtime: consumer lanes over Apache Kafka driving the same steps as the embedded runtime.

A worker runs up to four lanes, each a thread with its own consumer group (``streams.runtimes.kafka_lane``
has the consume -> handle -> publish -> commit contract), chosen by ``WorkerSettings.lanes``; scale out by
adding partitions and worker processes, or run lanes in separate processes so that enrichment, alerting
and application do not share one interpreter lock:
- ``enrich`` on ``scrm.events.raw`` (group ``app_id``): decode (invalid -> ``scrm.deadletter``), resolve
  the customer, enrich; publish ``EnrichedEvent``s to ``scrm.events.enriched`` keyed by ``customer_id``.
- ``apply`` on ``scrm.events.enriched`` (group ``<app_id>-apply``): fold into PostgreSQL profiles
  idempotently, register first sightings (new accounts, and linking keys their hints name for the first
  time), write analytics; publish profiles to the compacted ``scrm.profiles``, attached linking keys to
  ``scrm.identity.assignments`` and the other links the events' identity hints state (and re-elections)
  to ``scrm.identity.links``. Keyed by customer, a customer's events reach one partition, so two
  appliers rarely want the same customer's lock (only while a merge is in flight).
- ``alert`` on ``scrm.events.enriched`` too (group ``<app_id>-alert``): run the detectors (idempotently,
  their own ledger), fold alerts into incidents and the delivery outbox; publish alerts to
  ``scrm.alerts``. Apart from ``apply`` so that an alert never waits for a profile batch: its batches are
  small and quick, the apply lane's large (it runs at capacity under load).
- ``identity`` on the single-partition ``scrm.identity.links`` (group ``<app_id>-identity``): apply link /
  unlink / re-elect signals in order; publish assignments, recomputed profiles and tombstones. The worker
  owning that partition also runs the periodic jobs (network centrality, identity suggestions): the
  group elects it, and a rebalance moves the jobs with it.

A lane that fails for good (dead-letter ratio exceeded, a fatal Kafka error) stops the worker after the
other lanes finish their batch; nothing of the failed batch is committed. Messages are keyed with the
murmur2 partitioner, so a key lands on the partition Java clients, kafka-python and kcat's
``-X partitioner=murmur2_random`` pick.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from confluent_kafka import Producer
from pydantic import BaseModel

from enrichment.protocols import Enricher
from ingest.deadletter import DeadLetter
from ingest.records import SourceRecord
from profile_store.contracts import LinkSignal
from profile_store.profile_cache import ProfileCache
from streams.alert_batch import alert_enriched_batch
from streams.contracts import EnrichedEvent
from streams.exceptions import DeadLetterRatioExceeded
from streams.identity_service import apply_link_signals
from streams.intake import take_in
from streams.jobs.centrality import recompute_centrality
from streams.jobs.suggestions import refresh_suggestions
from streams.runtimes.kafka_lane import Handler, Lane, Outgoing, publish
from streams.settings import WorkerSettings
from streams.steps.deadletter_limit import DeadLetterLimit
from streams.steps.decode import parse_records
from streams.storage import Storage
from streams.topics import (
    ALERTS,
    DEADLETTER,
    ENRICHED_EVENTS,
    IDENTITY_ASSIGNMENTS,
    IDENTITY_LINKS,
    PROFILES,
    RAW_EVENTS,
)
from streams.unit_of_work import apply_enriched_batch

log = logging.getLogger(__name__)

ModelT = TypeVar("ModelT", bound=BaseModel)

PROGRESS_INTERVAL_SECONDS = 30.0
EXIT_DEAD_LETTER_RATIO = 70


def enrich_handler(settings: WorkerSettings, *, enricher: Enricher, storage: Storage) -> Handler:
    """Raw records -> their enriched events (keyed by the customer they resolve to) and dead letters.
    Blocks; raises on database errors and ``DeadLetterRatioExceeded``."""
    limit = _dead_letter_limit(settings)

    def handle(records: list[SourceRecord]) -> list[Outgoing]:
        intake = take_in(records, enricher=enricher, session_factory=storage.session_factory, limit=limit,
                         now=datetime.now(UTC))
        return [
            *_dead_letter_messages(intake.dead),
            *(Outgoing(ENRICHED_EVENTS, e.customer_id.encode(), e.model_dump_json().encode()) for e in intake.enriched),
        ]

    return handle


def apply_handler(settings: WorkerSettings, *, storage: Storage) -> Handler:
    """Enriched-event records -> the profiles and identity signals applying them publishes (records that
    are not an ``EnrichedEvent`` become dead letters). Blocks; raises on database errors (nothing
    applied) and ``DeadLetterRatioExceeded``."""
    profile_cache = ProfileCache(settings.pipeline.profile_cache_size)
    limit = _dead_letter_limit(settings)

    def handle(records: list[SourceRecord]) -> list[Outgoing]:
        events, dead = _parse_within(limit, records, EnrichedEvent, stage="apply")
        outcome = apply_enriched_batch(events, session_factory=storage.session_factory, analytics=storage.analytics,
                                       profile_cache=profile_cache)
        return [
            *_dead_letter_messages(dead),
            *(Outgoing(PROFILES, p.customer_id.encode(), p.model_dump_json().encode()) for p in outcome.profiles),
            *(Outgoing(IDENTITY_ASSIGNMENTS, k.encode(), c.encode()) for k, c in outcome.assignments.items()),
            *(Outgoing(IDENTITY_LINKS, None, s.model_dump_json().encode()) for s in outcome.identity_signals),
        ]

    return handle


def alert_handler(settings: WorkerSettings, *, storage: Storage) -> Handler:
    """Enriched-event records -> the alerts they raise (replayed events' stored alerts again; records that
    are not an ``EnrichedEvent`` become dead letters). Blocks; raises on database errors (nothing
    recorded) and ``DeadLetterRatioExceeded``."""
    limit = _dead_letter_limit(settings)

    def handle(records: list[SourceRecord]) -> list[Outgoing]:
        events, dead = _parse_within(limit, records, EnrichedEvent, stage="alert")
        outcome = alert_enriched_batch(events, session_factory=storage.session_factory, config=settings.pipeline.alerts)
        return [
            *_dead_letter_messages(dead),
            *(Outgoing(ALERTS, a.alert_id.encode(), a.model_dump_json().encode()) for a in outcome.alerts),
        ]

    return handle


def identity_handler(settings: WorkerSettings, *, storage: Storage) -> Handler:
    """Link-signal records -> assignments, recomputed profiles and tombstones to publish (records that are
    not a ``LinkSignal`` become dead letters). Blocks; raises on database errors (nothing applied) and
    ``DeadLetterRatioExceeded``."""
    limit = _dead_letter_limit(settings)

    def handle(records: list[SourceRecord]) -> list[Outgoing]:
        signals, dead = _parse_within(limit, records, LinkSignal, stage="identity")
        changes = apply_link_signals(signals, session_factory=storage.session_factory)
        return [
            *_dead_letter_messages(dead),
            *(Outgoing(IDENTITY_ASSIGNMENTS, k.encode(), c.encode()) for k, c in changes.assignments.items()),
            *(Outgoing(PROFILES, c.encode(), p.model_dump_json().encode()) for c, p in changes.profiles.items()),
            *(Outgoing(PROFILES, c.encode(), None) for c in sorted(changes.tombstones)),
        ]

    return handle


class KafkaWorker:
    """One worker process's lanes. ``run`` blocks until ``stop`` is set or a lane fails."""

    def __init__(self, settings: WorkerSettings, *, build_enricher: Callable[[], Enricher], storage: Storage) -> None:
        """``build_enricher`` is called only when this worker runs the enrich lane (it loads models)."""
        self._settings = settings
        self._storage = storage
        lanes: list[Lane] = []
        if "enrich" in settings.lanes:
            handler = enrich_handler(settings, enricher=build_enricher(), storage=storage)
            lanes.append(self._lane("enrich", RAW_EVENTS, handler, group=settings.app_id))
        if "apply" in settings.lanes:
            lanes.append(self._lane("apply", ENRICHED_EVENTS, apply_handler(settings, storage=storage),
                                    group=f"{settings.app_id}-apply"))
        if "alert" in settings.lanes:
            lanes.append(self._lane("alert", ENRICHED_EVENTS, alert_handler(settings, storage=storage),
                                    group=f"{settings.app_id}-alert"))
        if "identity" in settings.lanes:
            lanes.append(self._lane("identity", IDENTITY_LINKS, identity_handler(settings, storage=storage),
                                    group=f"{settings.app_id}-identity"))
        self._lanes = tuple(lanes)
        self.exit_code = 0

    def run(self, stop: threading.Event) -> None:
        """Start the lanes (and, with the identity lane, the jobs thread); return when ``stop`` is set (each
        lane finishes its batch) or when a lane fails (then ``exit_code`` is non-zero and the others are
        stopped too)."""
        bodies = [(lane.name, lane.run) for lane in self._lanes]
        bodies += [("jobs", functools.partial(self._run_jobs, lane)) for lane in self._lanes if lane.name == "identity"]
        threads = [threading.Thread(target=self._guarded, args=(name, body, stop), name=f"scrm-{name}")
                   for name, body in bodies]
        for thread in threads:
            thread.start()
        last = {lane.name: (lane.stats.records, time.monotonic()) for lane in self._lanes}
        while not stop.wait(PROGRESS_INTERVAL_SECONDS):
            last = self._log_progress(last)
        for thread in threads:
            thread.join()

    def _guarded(self, name: str, body: Callable[[threading.Event], None], stop: threading.Event) -> None:
        try:
            body(stop)
        except DeadLetterRatioExceeded as exc:
            log.critical("stopping worker: %s", exc)
            self.exit_code = EXIT_DEAD_LETTER_RATIO
        except Exception:
            log.critical("%s lane failed; stopping the worker", name, exc_info=True)
            self.exit_code = 1
        finally:
            stop.set()

    def _run_jobs(self, identity: Lane, stop: threading.Event) -> None:
        """Centrality and suggestions while this worker's ``identity`` lane owns the identity partition; a
        failure is logged and the jobs run again at the next interval."""
        pipeline = self._settings.pipeline
        producer = Producer(self._producer_config("jobs"))
        while not stop.wait(pipeline.jobs_interval_seconds):
            if not identity.has_partitions.is_set():
                continue
            try:
                run = recompute_centrality(self._storage.session_factory)
                log.info("centrality: %s nodes, %s edges, %.1fs", run.nodes, run.edges,
                         run.load_seconds + run.rank_seconds + run.write_seconds)
                _, signals = refresh_suggestions(
                    self._storage.session_factory,
                    min_score=pipeline.suggestion_min_score,
                    auto_merge_threshold=pipeline.suggestion_auto_merge_threshold,
                )
                publish(producer, [Outgoing(IDENTITY_LINKS, None, s.model_dump_json().encode()) for s in signals])
            except Exception:
                log.exception("periodic jobs failed; they run again at the next interval")

    def _log_progress(self, last: dict[str, tuple[int, float]]) -> dict[str, tuple[int, float]]:
        now = time.monotonic()
        current = {}
        for lane in self._lanes:
            records, since = last[lane.name]
            log.info("%s: %d records in %d batches since start, %.0f/s over the last %.0fs", lane.name,
                     lane.stats.records, lane.stats.batches, (lane.stats.records - records) / (now - since), now - since)
            current[lane.name] = (lane.stats.records, now)
        return current

    def _lane(
        self,
        name: str,
        topic: str,
        handler: Handler,
        *,
        group: str,
    ) -> Lane:
        pipeline = self._settings.pipeline
        return Lane(name, topic=topic, handler=handler, consumer_config=self._consumer_config(group),
                    producer_config=self._producer_config(name), batch_size=pipeline.batch_size,
                    batch_max_ms=pipeline.batch_max_ms)

    def _consumer_config(self, group: str) -> dict[str, Any]:
        settings = self._settings
        return {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": group,
            "client.id": f"{settings.app_id}-{group}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": settings.consumer_session_timeout_ms,
        }

    def _producer_config(self, lane: str) -> dict[str, Any]:
        settings = self._settings
        return {
            "bootstrap.servers": settings.kafka_bootstrap,
            "client.id": f"{settings.app_id}-{lane}",
            "acks": "all",
            "enable.idempotence": True,
            "linger.ms": settings.producer_linger_ms,
            "partitioner": "murmur2_random",
        }


def _dead_letter_limit(settings: WorkerSettings) -> DeadLetterLimit:
    """One lane's guard against dead-lettering nearly everything (a bad deploy upstream, a wrong topic)."""
    pipeline = settings.pipeline
    return DeadLetterLimit(max_ratio=pipeline.dead_letter_max_ratio, window=pipeline.dead_letter_window)


def _parse_within(
    limit: DeadLetterLimit, records: list[SourceRecord], model: type[ModelT], *, stage: str
) -> tuple[list[ModelT], list[DeadLetter]]:
    """``parse_records``, every record's outcome counted by ``limit``. Raises ``DeadLetterRatioExceeded``."""
    parsed, dead = parse_records(records, model, stage=stage)
    for dead_lettered in [False] * len(parsed) + [True] * len(dead):
        limit.record(dead_lettered)
    return parsed, dead


def _dead_letter_messages(dead: list[DeadLetter]) -> list[Outgoing]:
    return [Outgoing(DEADLETTER, letter.key, letter.model_dump_json().encode()) for letter in dead]
