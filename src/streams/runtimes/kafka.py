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
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import faust
from faust.types import EventT, StreamT
from pydantic import ValidationError

from enrichment.protocols import Enricher
from ingest.deadletter import DeadLetter
from ingest.records import SourceRecord
from streams.contracts import EnrichedEvent
from streams.exceptions import DeadLetterRatioExceeded
from streams.settings import WorkerSettings
from streams.steps.deadletter_limit import DeadLetterLimit
from streams.steps.decode import dead_letter, decode_record
from streams.steps.enrich import enrich_events
from streams.steps.identity import resolve_customer
from streams.storage import Storage
from streams.topics import ALERTS, DEADLETTER, ENRICHED_EVENTS, PROFILES, RAW_EVENTS
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
        for name in (RAW_EVENTS, ENRICHED_EVENTS, ALERTS, DEADLETTER, PROFILES)
    }
    pipeline = settings.pipeline
    executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="scrm-blocking")
    limit = DeadLetterLimit(max_ratio=pipeline.dead_letter_max_ratio, window=pipeline.dead_letter_window)
    within = pipeline.batch_max_ms / 1000

    async def blocking(fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(executor, fn)

    async def publish(messages: Sequence[tuple[str, bytes | None, bytes]]) -> None:
        futures = [await topics[name].send(key=key, value=value, force=True) for name, key, value in messages]
        await asyncio.gather(*futures)

    @app.agent(topics[RAW_EVENTS], name="scrm.enrich", concurrency=1)
    async def enrich_agent(stream: StreamT[bytes]) -> None:
        async for events in stream.take_events(pipeline.batch_size, within=within):
            records = [_source_record(event) for event in events]

            def resolve_and_enrich() -> tuple[list[EnrichedEvent], list[DeadLetter]]:
                resolved, dead = [], []
                for record in records:
                    decoded = decode_record(record)
                    if isinstance(decoded, DeadLetter):
                        dead.append(decoded)
                    else:
                        resolved.append((decoded, resolve_customer(decoded, {})))
                    limit.record(isinstance(decoded, DeadLetter))
                return (enrich_events(resolved, enricher) if resolved else []), dead

            enriched, dead = await _until_done(app, "enrich", lambda: blocking(resolve_and_enrich))
            messages = [(DEADLETTER, letter.key, letter.model_dump_json().encode()) for letter in dead]
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
