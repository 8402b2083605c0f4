"""The Kafka runtime: faust agents over Apache Kafka, driving the same steps as the embedded runtime.

Two agents, each consuming batches with ``take_events`` (faust acks a batch's events only after the loop
body for it returns, so offsets never commit ahead of effects) and running its blocking work on its own
thread:
- ``process`` on ``scrm.events.raw``: decode (invalid -> ``scrm.deadletter``), resolve the customer,
  enrich, then fold into PostgreSQL profiles idempotently (customers locked, so a customer whose accounts
  live on several partitions is applied one batch at a time), write analytics; publish the batch's
  ``EnrichedEvent``s to ``scrm.events.enriched`` (keyed by ``customer_id``, for outside consumers),
  alerts to ``scrm.alerts``, profiles to the compacted ``scrm.profiles`` and the links the events'
  identity hints state (and re-elections) to ``scrm.identity.links``. Enrichment and apply share one
  batch: no second Kafka hop, batching window and JSON round trip between them.
- ``identity`` on the single-partition ``scrm.identity.links``: apply link / unlink / re-elect signals in
  order; publish assignments, recomputed profiles and tombstones.

faust acks a batch even when the loop body raises, so the body never raises: transient failures retry
with backoff (blocking the partition, as at-least-once requires), and a fatal one stops the process
before anything commits.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

import faust
from faust.types import EventT, StreamT
from pydantic import BaseModel, ValidationError

from enrichment.protocols import Enricher
from ingest.deadletter import DeadLetter
from ingest.records import SourceRecord
from profile_store.contracts import LinkSignal
from streams.exceptions import DeadLetterRatioExceeded
from streams.identity_service import apply_link_signals
from streams.intake import take_in
from streams.jobs.centrality import recompute_centrality
from streams.jobs.suggestions import refresh_suggestions
from streams.settings import WorkerSettings
from streams.steps.deadletter_limit import DeadLetterLimit
from streams.steps.decode import dead_letter
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
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

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
        producer_linger_ms=settings.producer_linger_ms,
        web_enabled=False,
        broker_commit_every=settings.pipeline.batch_size,
        broker_commit_interval=1.0,
    )
    topics = {
        name: app.topic(name, key_type=bytes, value_type=bytes, internal=False)
        for name in (RAW_EVENTS, ENRICHED_EVENTS, ALERTS, DEADLETTER, PROFILES, IDENTITY_LINKS, IDENTITY_ASSIGNMENTS)
    }
    pipeline = settings.pipeline
    # one thread per agent (and one for the periodic jobs): a burst of identity merges or a centrality run
    # must not queue the event batches behind it
    lanes = {lane: ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"scrm-{lane}")
             for lane in ("process", "identity", "jobs")}
    limit = DeadLetterLimit(max_ratio=pipeline.dead_letter_max_ratio, window=pipeline.dead_letter_window)
    within = pipeline.batch_max_ms / 1000

    def blocking(lane: str) -> Callable[..., Awaitable[Any]]:
        async def run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
            return await asyncio.get_running_loop().run_in_executor(lanes[lane], functools.partial(fn, *args, **kwargs))

        return run

    async def publish(messages: Sequence[tuple[str, bytes | None, bytes | None]]) -> None:
        futures = [await topics[name].send(key=key, value=value, force=True) for name, key, value in messages]
        await asyncio.gather(*futures)

    @app.agent(topics[RAW_EVENTS], name="scrm.process", concurrency=1)
    async def process_agent(stream: StreamT[bytes]) -> None:
        on_lane = blocking("process")
        async for events in _batches(stream, pipeline.batch_size, within):
            records = [_source_record(event) for event in events]
            intake = await _until_done(
                "enrich", on_lane, take_in, records, enricher=enricher,
                session_factory=storage.session_factory, limit=limit, now=datetime.now(UTC),
            )
            outcome = await _until_done(
                "apply", on_lane, apply_enriched_batch, intake.enriched,
                session_factory=storage.session_factory, analytics=storage.analytics, alert_config=pipeline.alerts,
            )
            messages = _dead_letter_messages(intake.dead)
            messages += [(ALERTS, a.alert_id.encode(), a.model_dump_json().encode()) for a in outcome.alerts]
            messages += [(ENRICHED_EVENTS, e.customer_id.encode(), e.model_dump_json().encode()) for e in outcome.events]
            messages += [(PROFILES, p.customer_id.encode(), p.model_dump_json().encode()) for p in outcome.profiles]
            messages += [(IDENTITY_LINKS, None, s.model_dump_json().encode()) for s in outcome.identity_signals]
            await _until_done("publish results", publish, messages)

    @app.agent(topics[IDENTITY_LINKS], name="scrm.identity", concurrency=1)
    async def identity_agent(stream: StreamT[bytes]) -> None:
        async for events in _batches(stream, pipeline.batch_size, within):
            signals, dead = _parse(events, LinkSignal, stage="identity")
            changes = await _until_done(
                "identity", blocking("identity"), apply_link_signals, signals, session_factory=storage.session_factory
            )
            messages = _dead_letter_messages(dead)
            messages += [(IDENTITY_ASSIGNMENTS, k.encode(), c.encode()) for k, c in changes.assignments.items()]
            messages += [(PROFILES, c.encode(), p.model_dump_json().encode()) for c, p in changes.profiles.items()]
            messages += [(PROFILES, c.encode(), None) for c in sorted(changes.tombstones)]
            await _until_done("publish identity changes", publish, messages)

    @app.timer(pipeline.jobs_interval_seconds, on_leader=True)
    async def periodic_jobs() -> None:
        """Network centrality and identity suggestions, on one worker (the leader) at a time."""
        try:
            run = await blocking("jobs")(recompute_centrality, storage.session_factory)
            log.info("centrality: %s nodes, %s edges, %.1fs", run.nodes, run.edges,
                     run.load_seconds + run.rank_seconds + run.write_seconds)
            _, signals = await blocking("jobs")(
                refresh_suggestions,
                storage.session_factory,
                min_score=pipeline.suggestion_min_score,
                auto_merge_threshold=pipeline.suggestion_auto_merge_threshold,
            )
            await publish([(IDENTITY_LINKS, None, signal.model_dump_json().encode()) for signal in signals])
        except Exception:
            log.exception("periodic jobs failed; they run again at the next interval")

    return app


def _batches(stream: StreamT[bytes], size: int, within: float) -> AsyncIterator[Sequence[EventT[Any]]]:
    """``take_events`` batches (faust acks each batch only after the loop body for it returns). faust's
    ``StreamT`` protocol does not declare ``take_events``, though every concrete stream has it."""
    return cast(faust.Stream[bytes], stream).take_events(size, within=within)


def _source_record(event: EventT[Any]) -> SourceRecord:
    message = event.message
    key = message.key if isinstance(message.key, bytes | None) else None
    value = message.value if isinstance(message.value, bytes) else b""
    return SourceRecord(value=value, topic=message.topic, partition=message.partition, offset=message.offset, key=key)


def _parse(events: Sequence[EventT[Any]], model: type[M], *, stage: str) -> tuple[list[M], list[DeadLetter]]:
    """Values of ``events`` validated as ``model``; the ones that are not become dead letters."""
    parsed: list[M] = []
    dead: list[DeadLetter] = []
    for event in events:
        record = _source_record(event)
        try:
            parsed.append(model.model_validate_json(record.value))
        except ValidationError as exc:
            dead.append(dead_letter(record, stage=stage, error=f"not a {model.__name__}: {exc}"))
    return parsed, dead


def _dead_letter_messages(dead: Sequence[DeadLetter]) -> list[tuple[str, bytes | None, bytes | None]]:
    return [(DEADLETTER, letter.key, letter.model_dump_json().encode()) for letter in dead]


async def _until_done(what: str, attempt: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
    """Await ``attempt(*args, **kwargs)`` until it succeeds, backing off exponentially. A
    ``DeadLetterRatioExceeded`` stops the process at once, before faust can commit the batch's offsets."""
    delay = 0.5
    while True:
        try:
            return await attempt(*args, **kwargs)
        except DeadLetterRatioExceeded as exc:
            log.critical("stopping worker: %s", exc)
            os._exit(70)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s failed; retrying in %.1fs (offsets are not committed meanwhile)", what, delay)
            await asyncio.sleep(delay)
            delay = min(MAX_BACKOFF_SECONDS, delay * 2)
