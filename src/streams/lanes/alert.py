"""The alert lane: ``scrm.events.enriched`` -> ``scrm.alerts``.

Runs the detectors over each batch in their own transaction and ledger (``streams.alert_batch``), apart from
the apply lane so that an alert never waits for a profile batch; publishes the alerts (replayed events'
stored alerts again, with the same ids).
"""

from __future__ import annotations

from ingest.records import SourceRecord
from streams.alert_batch import alert_enriched_batch
from streams.contracts import EnrichedEvent
from streams.lanes import LaneContext, LaneSpec
from streams.loop import Handled, Handler
from streams.steps.decode import parse_records
from streams.topics import ALERTS, ENRICHED_EVENTS
from streams.transports import Outgoing


def build(context: LaneContext) -> Handler:
    session_factory = context.storage.session_factory
    config = context.pipeline.alerts

    def handle(records: list[SourceRecord]) -> Handled:
        events, dead = parse_records(records, EnrichedEvent, stage="alert")
        outcome = alert_enriched_batch(events, session_factory=session_factory, config=config)
        if context.hooks.alerted is not None:
            context.hooks.alerted(outcome)
        return Handled(
            messages=[Outgoing(ALERTS, a.alert_id.encode(), a.model_dump_json().encode()) for a in outcome.alerts],
            dead=dead,
        )

    return handle


LANE = LaneSpec(name="alert", topic=ENRICHED_EVENTS, group_suffix="-alert", build=build)
