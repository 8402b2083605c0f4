"""The identity lane: ``scrm.identity.links`` (one partition, so signals apply in order) -> merges, splits,
re-elections (``streams.identity_service``); publishes assignments, recomputed profiles and tombstones, and
the segment entries and exits the signals caused (a merged-away customer leaves its segments)."""

from __future__ import annotations

from ingest.records import SourceRecord
from profile_store.contracts import LinkSignal
from streams.identity_service import apply_link_signals
from streams.lanes import LaneContext, LaneSpec
from streams.loop import Handled, Handler
from streams.steps.decode import parse_records
from streams.steps.segment_messages import segment_change_messages
from streams.topics import IDENTITY_ASSIGNMENTS, IDENTITY_LINKS, PROFILES
from streams.transports import Outgoing


def build(context: LaneContext) -> Handler:
    session_factory, analytics = context.storage.session_factory, context.storage.analytics

    def handle(records: list[SourceRecord]) -> Handled:
        signals, dead = parse_records(records, LinkSignal, stage="identity")
        changes = apply_link_signals(signals, session_factory=session_factory, analytics=analytics,
                                     privacy=context.privacy)
        if context.hooks.linked is not None:
            context.hooks.linked(changes)
        return Handled(
            messages=[
                *(Outgoing(IDENTITY_ASSIGNMENTS, k.encode(), c.encode()) for k, c in changes.assignments.items()),
                *(Outgoing(PROFILES, c.encode(), p.model_dump_json().encode()) for c, p in changes.profiles.items()),
                *(Outgoing(PROFILES, c.encode(), None) for c in sorted(changes.tombstones)),
                *segment_change_messages(changes.segment_changes),
            ],
            dead=dead,
            suppressed=changes.suppressed,
        )

    return handle


LANE = LaneSpec(name="identity", topic=IDENTITY_LINKS, group_suffix="-identity", build=build)
