"""The apply lane: ``scrm.events.enriched`` -> profiles, analytics, identity signals.

Folds events into their customers' profiles idempotently, registers first sightings and writes analytics
(``streams.unit_of_work``); publishes changed profiles to the compacted ``scrm.profiles``, attached linking
keys to ``scrm.identity.assignments``, the links the events' hints state (and re-elections) to
``scrm.identity.links``, and the segment entries and exits the events caused to ``scrm.segments.changes``.
"""

from __future__ import annotations

from ingest.contracts import SocialEvent
from ingest.records import SourceRecord
from profile_store.profile_cache import ProfileCache
from streams.contracts import EnrichedEvent
from streams.lanes import LaneContext, LaneSpec
from streams.loop import Handled, Handler
from streams.steps.decode import parse_records
from streams.steps.segment_messages import segment_change_messages
from streams.topics import ENRICHED_EVENTS, IDENTITY_ASSIGNMENTS, IDENTITY_LINKS, PROFILES
from streams.transports import Outgoing
from streams.unit_of_work import apply_enriched_batch


def build(context: LaneContext) -> Handler:
    storage = context.storage
    profile_cache = ProfileCache(context.pipeline.profile_cache_size)
    brands = context.pipeline.alerts.opportunity

    def brand_account(event: SocialEvent) -> bool:
        return brands.is_brand(event.identity_key, event.author.handle)

    def handle(records: list[SourceRecord]) -> Handled:
        events, dead = parse_records(records, EnrichedEvent, stage="apply")
        outcome = apply_enriched_batch(events, session_factory=storage.session_factory, analytics=storage.analytics,
                                       privacy=context.privacy, profile_cache=profile_cache,
                                       not_customer=brand_account)
        if context.hooks.applied is not None:
            context.hooks.applied(outcome)
        return Handled(
            messages=[
                *(Outgoing(PROFILES, p.customer_id.encode(), p.model_dump_json().encode()) for p in outcome.profiles),
                *(Outgoing(IDENTITY_ASSIGNMENTS, k.encode(), c.encode()) for k, c in outcome.assignments.items()),
                *(Outgoing(IDENTITY_LINKS, None, s.model_dump_json().encode()) for s in outcome.identity_signals),
                *segment_change_messages(outcome.segment_changes),
            ],
            dead=dead,
            suppressed=outcome.suppressed,
        )

    return handle


LANE = LaneSpec(name="apply", topic=ENRICHED_EVENTS, group_suffix="-apply", build=build)
