"""The Kafka runtime: the lanes of ``streams.lanes`` as consumer threads over Apache Kafka.

A worker runs the lanes ``WorkerSettings.lanes`` names, each a ``streams.loop.LaneLoop`` thread over its own
``KafkaTransport`` (its own consumer group ``<app_id><suffix>`` and producer); scale out by adding
partitions and worker processes, or run lanes in separate processes so that enrichment, alerting and
application do not share one interpreter lock:
- ``enrich`` on ``scrm.events.raw`` (group ``app_id``) -> ``scrm.events.enriched`` keyed by customer;
- ``apply`` on ``scrm.events.enriched`` (``-apply``): profiles, first sightings, analytics ->
  ``scrm.profiles``, ``scrm.identity.assignments``, ``scrm.identity.links``;
- ``alert`` on ``scrm.events.enriched`` too (``-alert``): detectors, incidents, outbox -> ``scrm.alerts``;
- ``identity`` on the single-partition ``scrm.identity.links`` (``-identity``): merges and splits. The worker
  owning that partition also runs the periodic jobs (network centrality, identity suggestions), the
  segment sweep (``streams.jobs.segments``), the retention job (``streams.jobs.retention``) and, with
  ClickHouse configured, the analytics sync (incidents, alerts, segment changes, connector health), so one
  of each runs at a time;
- ``deadletter`` on ``scrm.deadletter`` (``-deadletter``): the dead-letter table the API reads.

A lane that stops for good stops the worker after the other lanes finish their batch, with an exit code a
supervisor can act on: ``EXIT_DEAD_LETTERS`` (70) when the dead-letter guard tripped (restarting will trip
again: look at the dead letters, then ``scrm deadletters skip``), ``EXIT_UNAVAILABLE`` (75) when the database
or broker stayed away past the retries (restart it), 1 for anything else. Nothing of a failed batch is
committed. Messages are keyed with the murmur2 partitioner, so a key lands on the partition Java clients,
kafka-python and kcat's ``-X partitioner=murmur2_random`` pick.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from confluent_kafka.admin import AdminClient

from enrichment.protocols import Enricher
from profile_store.privacy import PrivacyKey
from streams.exceptions import EXIT_DEAD_LETTERS, EXIT_UNAVAILABLE, DeadLetterRatioExceeded, LaneFailed
from streams.jobs.analytics_sync import run_syncs
from streams.jobs.centrality import recompute_centrality
from streams.jobs.retention import run_retention
from streams.jobs.segments import run_sweeps
from streams.jobs.suggestions import refresh_suggestions
from streams.lanes import LaneContext, lane_loop, lane_specs
from streams.loop import LaneLoop
from streams.settings import WorkerSettings
from streams.steps.segment_messages import segment_change_messages
from streams.storage import Storage
from streams.topics import IDENTITY_LINKS
from streams.transports import Outgoing
from streams.transports.kafka import KafkaTransport

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_SECONDS = 30.0


class KafkaWorker:
    """One worker process's lanes. ``run`` blocks until ``stop`` is set or a lane fails."""

    def __init__(self, settings: WorkerSettings, *, build_enricher: Callable[[], Enricher], storage: Storage) -> None:
        """``build_enricher`` is called only when this worker runs the enrich lane (it loads models)."""
        self._settings = settings
        self._storage = storage
        context = LaneContext(pipeline=settings.pipeline, storage=storage, enricher=build_enricher,
                              privacy=PrivacyKey.from_text(settings.privacy_secret.get_secret_value()),
                              partitions=functools.cache(self._partitions))
        self._lanes = tuple(
            lane_loop(spec, self._transport(spec.name, spec.topic, f"{settings.app_id}{spec.group_suffix}"), context)
            for spec in lane_specs() if spec.name in settings.lanes
        )
        self.exit_code = 0

    def run(self, stop: threading.Event) -> None:
        """Start the lanes (and, with the identity lane, the jobs thread); return when ``stop`` is set (each
        lane finishes its batch) or when a lane fails (then ``exit_code`` is non-zero and the others are
        stopped too)."""
        bodies = [(lane.name, lane.run) for lane in self._lanes]
        for lane in self._lanes:
            if lane.name == "identity":
                bodies += [("jobs", functools.partial(self._run_jobs, lane)),
                           ("segment-sweep", functools.partial(self._run_sweeps, lane)),
                           ("retention", functools.partial(self._run_retention, lane))]
                if self._storage.analytics is not None:
                    bodies.append(("analytics-sync", functools.partial(self._run_analytics_sync, lane)))
        threads = [threading.Thread(target=self._guarded, args=(name, body, stop), name=f"scrm-{name}")
                   for name, body in bodies]
        for thread in threads:
            thread.start()
        last = {lane.name: (lane.stats.records, time.monotonic()) for lane in self._lanes}
        while not stop.wait(PROGRESS_INTERVAL_SECONDS):
            last = self._log_progress(last)
        for thread in threads:
            thread.join()

    def lanes(self) -> tuple[LaneLoop, ...]:
        """This worker's lanes (their ``stats`` are read by status reports)."""
        return self._lanes

    def _guarded(self, name: str, body: Callable[[threading.Event], None], stop: threading.Event) -> None:
        try:
            body(stop)
        except DeadLetterRatioExceeded as exc:
            log.critical("stopping worker: %s", exc)
            self.exit_code = EXIT_DEAD_LETTERS
        except LaneFailed as exc:
            log.critical("stopping worker: %s", exc)
            self.exit_code = EXIT_UNAVAILABLE
        except Exception:
            log.critical("%s lane failed; stopping the worker", name, exc_info=True)
            self.exit_code = 1
        finally:
            stop.set()

    def _run_jobs(self, identity: LaneLoop, stop: threading.Event) -> None:
        """Centrality and suggestions while this worker's ``identity`` lane owns the identity partition; a
        failure is logged and the jobs run again at the next interval."""
        pipeline = self._settings.pipeline
        producer = KafkaTransport.producer_only(self._producer_config("jobs"))
        while not stop.wait(pipeline.jobs_interval_seconds):
            if not identity.transport.has_partitions():
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
                producer.publish([Outgoing(IDENTITY_LINKS, None, s.model_dump_json().encode()) for s in signals])
            except Exception:
                log.exception("periodic jobs failed; they run again at the next interval")

    def _run_sweeps(self, identity: LaneLoop, stop: threading.Event) -> None:
        """The segment sweep while this worker's ``identity`` lane owns the identity partition, its changes
        published to ``scrm.segments.changes``."""
        producer = KafkaTransport.producer_only(self._producer_config("segment-sweep"))
        run_sweeps(self._storage.session_factory, stop, every_seconds=self._settings.pipeline.segment_sweep_seconds,
                   publish=lambda changes: producer.publish(segment_change_messages(changes)),
                   active=identity.transport.has_partitions)

    def _run_retention(self, identity: LaneLoop, stop: threading.Event) -> None:
        """The retention job (``streams.jobs.retention``) while this worker's ``identity`` lane owns the
        identity partition: a pass as soon as it does, then every ``retention_interval_seconds``."""
        pipeline = self._settings.pipeline
        run_retention(self._storage.session_factory, self._storage.analytics, stop, policy=pipeline.retention,
                      every_seconds=pipeline.retention_interval_seconds, active=identity.transport.has_partitions)

    def _run_analytics_sync(self, identity: LaneLoop, stop: threading.Event) -> None:
        """Copy incidents, alerts, segment changes and connector health to ClickHouse while this worker's
        ``identity`` lane owns the identity partition (one worker syncs; see ``streams.jobs.analytics_sync``)."""
        assert self._storage.analytics is not None
        run_syncs(self._storage.session_factory, self._storage.analytics, stop,
                  every_seconds=self._settings.pipeline.analytics_sync_seconds,
                  active=identity.transport.has_partitions)

    def _log_progress(self, last: dict[str, tuple[int, float]]) -> dict[str, tuple[int, float]]:
        now = time.monotonic()
        current = {}
        for lane in self._lanes:
            records, since = last[lane.name]
            stats = lane.stats
            log.info("%s: %d records in %d batches since start (%d dead-lettered, %d poison), %.0f/s over the last %.0fs",
                     lane.name, stats.records, stats.batches, stats.dead_lettered, stats.poison,
                     (stats.records - records) / (now - since), now - since)
            current[lane.name] = (stats.records, now)
        return current

    def _partitions(self, topic: str) -> int:
        """How many partitions ``topic`` has (broker metadata; blocks up to 10 s, raises if it is unknown)."""
        admin = AdminClient({"bootstrap.servers": self._settings.kafka_bootstrap})
        return len(admin.list_topics(topic, timeout=10).topics[topic].partitions)

    def _transport(self, lane: str, topic: str, group: str) -> KafkaTransport:
        return KafkaTransport(lane, topic, consumer_config=self._consumer_config(group),
                              producer_config=self._producer_config(lane))

    def _consumer_config(self, group: str) -> dict[str, Any]:
        settings = self._settings
        return {
            **settings.kafka.librdkafka(settings.kafka_bootstrap),
            "group.id": group,
            "client.id": f"{settings.app_id}-{group}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": settings.consumer_session_timeout_ms,
        }

    def _producer_config(self, lane: str) -> dict[str, Any]:
        settings = self._settings
        return {
            **settings.kafka.librdkafka(settings.kafka_bootstrap),
            "client.id": f"{settings.app_id}-{lane}",
            "acks": "all",
            "enable.idempotence": True,
            "linger.ms": settings.producer_linger_ms,
            "partitioner": "murmur2_random",
        }
