"""The lanes, one module each, in the order data flows through them; ``LANES`` is the one list both
runtimes build their lanes from.

Each lane module exposes a ``LaneSpec``: the topic it consumes, its consumer group's suffix and how to build
its handler from a ``LaneContext``. A handler is a blocking function from a batch of records to what to
publish and what it dead-letters (``streams.loop.Handled``); the lane loop does the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from enrichment.protocols import Enricher
from ingest.deadletter_store import record_trip, waivers_of
from profile_store.privacy import PrivacyKey
from streams.alert_batch import AlertOutcome
from streams.config import PipelineConfig
from streams.exceptions import DeadLetterRatioExceeded
from streams.identity_service import IdentityChanges
from streams.loop import Clock, Handler, LaneLoop, SystemClock
from streams.steps.deadletter_limit import DeadLetterLimit
from streams.storage import Storage
from streams.transports import Transport
from streams.unit_of_work import BatchOutcome

LaneName = Literal["enrich", "apply", "alert", "identity", "deadletter"]


@dataclass(frozen=True)
class LaneHooks:
    """Observers of what the lanes did, called on the lane's thread after a batch's effects are durable
    and before its output is published (a retried batch calls them again with nothing fresh, as its
    effects are idempotent). For counters and notifications; they must not block."""

    applied: Callable[[BatchOutcome], None] | None = None
    alerted: Callable[[AlertOutcome], None] | None = None
    linked: Callable[[IdentityChanges], None] | None = None


@dataclass(frozen=True)
class LaneContext:
    """What handlers are built from. ``enricher`` is called only by the enrich lane (it loads models);
    ``partitions`` says how many partitions a topic has (the alert lane's watermark waits for each);
    ``privacy`` hashes keys for the erasure suppression list every lane drops erased people by."""

    pipeline: PipelineConfig
    storage: Storage
    enricher: Callable[[], Enricher]
    privacy: PrivacyKey
    hooks: LaneHooks = LaneHooks()
    partitions: Callable[[str], int] = lambda _topic: 1


@dataclass(frozen=True)
class LaneSpec:
    """A lane: its name, input topic, consumer-group suffix (appended to the app id) and handler factory."""

    name: LaneName
    topic: str
    group_suffix: str
    build: Callable[[LaneContext], Handler]


def lane_specs() -> tuple[LaneSpec, ...]:
    """Every lane, in data-flow order."""
    from streams.lanes import alert, apply, deadletter, enrich, identity

    return (enrich.LANE, apply.LANE, alert.LANE, identity.LANE, deadletter.LANE)


def lane_loop(spec: LaneSpec, transport: Transport, context: LaneContext, *, clock: Clock | None = None) -> LaneLoop:
    """The loop of one lane over ``transport``: its handler, the pipeline's batching and failure policy, and
    a dead-letter guard that honours the lane's waivers and records its trips in the database."""
    pipeline = context.pipeline
    guard = DeadLetterLimit(limits=pipeline.dead_letters, lane=spec.name)
    session_factory = context.storage.session_factory
    with session_factory() as session:
        for trip in waivers_of(spec.name, session=session):
            if trip.waived_through is not None:
                guard.waive(trip.topic, trip.partition, trip.waived_through)

    def tripped(exc: DeadLetterRatioExceeded) -> None:
        with session_factory() as session, session.begin():
            record_trip(spec.name, exc.topic, exc.partition, exc.offset, str(exc), datetime.now(UTC), session=session)

    return LaneLoop(name=spec.name, transport=transport, handler=spec.build(context), batch_size=pipeline.batch_size,
                    batch_max_ms=pipeline.batch_max_ms, guard=guard, policy=pipeline.failures,
                    clock=clock or SystemClock(), on_trip=tripped)
