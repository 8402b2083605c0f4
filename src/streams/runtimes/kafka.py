"""The Kafka runtime: faust agents over Apache Kafka, driving the same steps as the embedded runtime.

Two agents, each consuming batches with ``take_events`` (faust acks a batch's events only after the loop
body for it returns, so offsets never commit ahead of effects):
- ``enrich`` on ``scrm.events.raw``: decode (invalid -> ``scrm.deadletter``), resolve the customer,
  enrich off the event loop, publish ``EnrichedEvent``s keyed by ``customer_id`` and wait for the broker's
  acks.
- ``apply`` on ``scrm.events.enriched``: fold into PostgreSQL profiles idempotently, write analytics,
  publish alerts to ``scrm.alerts`` and profiles to the compacted ``scrm.profiles``.

faust acks a batch even when the loop body raises, so the body never raises: transient failures retry
with backoff (blocking the partition, as at-least-once requires), and a fatal one stops the process
before anything commits.
"""

from __future__ import annotations

import asyncio
import logging
import os
from datetime import UTC, datetime
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import faust
from faust.types import EventT, StreamT
from pydantic import ValidationError

from enrichment.protocols import Enricher
from ingest.deadletter import DeadLetter
from ingest.records import SourceRecord
from profile_store.contracts import LinkSignal
from streams.contracts import EnrichedEvent
from streams.exceptions import DeadLetterRatioExceeded
from streams.identity_service import IdentityChanges, apply_link_signals, lookup_assignments
from streams.jobs.centrality import recompute_centrality
from streams.jobs.suggestions import refresh_suggestions
from streams.settings import WorkerSettings
from streams.steps.deadletter_limit import DeadLetterLimit
from streams.steps.decode import dead_letter, decode_record
from streams.steps.enrich import enrich_events
from streams.steps.identity import resolve_customer
from streams.steps.links import hint_link_signals
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
from streams.unit_of_work import BatchOutcome, apply_enriched_batch

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_BACKOFF_SECONDS = 30.0


def build_app(settings: WorkerSettings, *, enricher: Enricher, storage: Storage) -> faust.App:
    """A faust app with the pipeline's agents. Topics must exist (``streams.admin.ensure_topics``)."""
    app = faust.App(
        settings.app_id,
        broker=f"kafka://{settings.kafka_bootstrap}",
        store="memory://",
        key_serializer="raw",
        value_serializer="raw",
        topic_partitions=settings.partitions,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        web_enabled=False,
        broker_commit_every=settings.pipeline.batch_size,
        broker_commit_interval=1.0,
    )
    topics = {
        name: app.topic(name, key_type=bytes, value_type=bytes, internal=False)
        for name in (RAW_EVENTS, ENRICHED_EVENTS, ALERTS, DEADLETTER, PROFILES, IDENTITY_LINKS, IDENTITY_ASSIGNMENTS)
    }
    pipeline = settings.pipeline
    executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="scrm-blocking")
    limit = DeadLetterLimit(max_ratio=pipeline.dead_letter_max_ratio, window=pipeline.dead_letter_window)
    within = pipeline.batch_max_ms / 1000

    async def blocking(fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(executor, fn)

    async def publish(messages: Sequence[tuple[str, bytes | None, bytes | None]]) -> None:
        futures = [await topics[name].send(key=key, value=value, force=True) for name, key, value in messages]
        await asyncio.gather(*futures)

    @app.agent(topics[RAW_EVENTS], name="scrm.enrich", concurrency=1)
    async def enrich_agent(stream: StreamT[bytes]) -> None:
        async for events in stream.take_events(pipeline.batch_size, within=within):
            records = [_source_record(event) for event in events]

            def resolve_and_enrich() -> tuple[list[EnrichedEvent], list[DeadLetter], list[LinkSignal]]:
                decoded_events, dead = [], []
                for record in records:
                    decoded = decode_record(record)
                    if isinstance(decoded, DeadLetter):
                        dead.append(decoded)
                    else:
                        decoded_events.append(decoded)
                    limit.record(isinstance(decoded, DeadLetter))
                keys = [event.identity_key for event in decoded_events]
                assignments = lookup_assignments(keys, session_factory=storage.session_factory)
                resolved = [(event, resolve_customer(event, assignments)) for event in decoded_events]
                now = datetime.now(UTC)
                links = [signal for event in decoded_events for signal in hint_link_signals(event, at=now)]
                return (enrich_events(resolved, enricher) if resolved else []), dead, links

            enriched, dead, links = await _until_done(app, "enrich", lambda: blocking(resolve_and_enrich))
            messages = [(DEADLETTER, letter.key, letter.model_dump_json().encode()) for letter in dead]
            messages += [(IDENTITY_LINKS, None, signal.model_dump_json().encode()) for signal in links]
            messages += [(ENRICHED_EVENTS, e.customer_id.encode(), e.model_dump_json().encode()) for e in enriched]
            await _until_done(app, "publish enriched", lambda: publish(messages))

    @app.agent(topics[ENRICHED_EVENTS], name="scrm.apply", concurrency=1)
    async def apply_agent(stream: StreamT[bytes]) -> None:
        async for events in stream.take_events(pipeline.batch_size, within=within):
            enriched: list[EnrichedEvent] = []
            dead: list[DeadLetter] = []
            for event in events:
                record = _source_record(event)
                try:
                    enriched.append(EnrichedEvent.model_validate_json(record.value))
                except ValidationError as exc:
                    dead.append(dead_letter(record, stage="apply", error=f"not an EnrichedEvent: {exc}"))

            def apply() -> BatchOutcome:
                return apply_enriched_batch(
                    enriched,
                    session_factory=storage.session_factory,
                    analytics=storage.analytics,
                    alert_config=pipeline.negative_post,
                )

            outcome = await _until_done(app, "apply", lambda: blocking(apply))
            messages = [(DEADLETTER, letter.key, letter.model_dump_json().encode()) for letter in dead]
            messages += [(ALERTS, a.alert_id.encode(), a.model_dump_json().encode()) for a in outcome.alerts]
            messages += [(PROFILES, p.customer_id.encode(), p.model_dump_json().encode()) for p in outcome.profiles]
            await _until_done(app, "publish results", lambda: publish(messages))

    @app.agent(topics[IDENTITY_LINKS], name="scrm.identity", concurrency=1)
    async def identity_agent(stream: StreamT[bytes]) -> None:
        async for events in stream.take_events(pipeline.batch_size, within=within):
            signals: list[LinkSignal] = []
            dead: list[DeadLetter] = []
            for event in events:
                record = _source_record(event)
                try:
                    signals.append(LinkSignal.model_validate_json(record.value))
                except ValidationError as exc:
                    dead.append(dead_letter(record, stage="identity", error=f"not a LinkSignal: {exc}"))

            def apply() -> IdentityChanges:
                return apply_link_signals(signals, session_factory=storage.session_factory)

            changes = await _until_done(app, "identity", lambda: blocking(apply))
            messages = [(DEADLETTER, letter.key, letter.model_dump_json().encode()) for letter in dead]
            messages += [(IDENTITY_ASSIGNMENTS, k.encode(), c.encode()) for k, c in changes.assignments.items()]
            messages += [(PROFILES, c.encode(), p.model_dump_json().encode()) for c, p in changes.profiles.items()]
            messages += [(PROFILES, c.encode(), None) for c in sorted(changes.tombstones)]
            await _until_done(app, "publish identity changes", lambda: publish(messages))

    @app.timer(pipeline.jobs_interval_seconds, on_leader=True)
    async def periodic_jobs() -> None:
        """Network centrality and identity suggestions, on one worker (the leader) at a time."""
        try:
            run = await blocking(lambda: recompute_centrality(storage.session_factory))
            log.info("centrality: %s nodes, %s edges, %.1fs", run.nodes, run.edges,
                     run.load_seconds + run.rank_seconds + run.write_seconds)
            _, signals = await blocking(
                lambda: refresh_suggestions(
                    storage.session_factory,
                    min_score=pipeline.suggestion_min_score,
                    auto_merge_threshold=pipeline.suggestion_auto_merge_threshold,
                )
            )
            await publish([(IDENTITY_LINKS, None, signal.model_dump_json().encode()) for signal in signals])
        except Exception:
            log.exception("periodic jobs failed; they run again at the next interval")

    return app


def _source_record(event: EventT[Any]) -> SourceRecord:
    message = event.message
    key = message.key if isinstance(message.key, bytes | None) else None
    return SourceRecord(
        value=message.value, topic=message.topic, partition=message.partition, offset=message.offset, key=key
    )


async def _until_done(app: faust.App, what: str, attempt: Callable[[], Awaitable[T]]) -> T:
    """Run ``attempt`` until it succeeds, backing off exponentially. A ``DeadLetterRatioExceeded`` (or any
    non-``Exception``) stops the process at once, before faust can commit the batch's offsets."""
    delay = 0.5
    while True:
        try:
            return await attempt()
        except DeadLetterRatioExceeded as exc:
            log.critical("stopping worker: %s", exc)
            os._exit(70)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s failed; retrying in %.1fs (offsets are not committed meanwhile)", what, delay)
            await asyncio.sleep(delay)
            delay = min(MAX_BACKOFF_SECONDS, delay * 2)
