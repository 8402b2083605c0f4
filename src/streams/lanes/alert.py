"""The alert lane: ``scrm.events.enriched`` -> ``scrm.alerts``.

Runs the detectors over each batch in their own transaction and ledger (``streams.alert_batch``), apart from
the apply lane so that an alert never waits for a profile batch; publishes the alerts (replayed events'
stored alerts again, with the same ids). Each batch also reports how far every (enriched partition, raw
partition) position has got in event time (``streams.steps.watermark``): the detectors' watermark.
"""

from __future__ import annotations

from ingest.records import SourceRecord
from streams.alert_batch import alert_enriched_batch
from streams.contracts import EnrichedEvent
from streams.lanes import LaneContext, LaneSpec
from streams.loop import Handled, Handler
from streams.steps.decode import parse_records
from streams.steps.watermark import progress
from streams.topics import ALERTS, ENRICHED_EVENTS, RAW_EVENTS
from streams.transports import Outgoing


def build(context: LaneContext) -> Handler:
    session_factory = context.storage.session_factory
    config = context.pipeline.alerts

    def handle(records: list[SourceRecord]) -> Handled:
        events, dead = parse_records(records, EnrichedEvent, stage="alert")
        unread = {(d.partition, d.offset) for d in dead}
        read = [r for r in records if (r.partition, r.offset) not in unread]
        positions = context.partitions(ENRICHED_EVENTS) * context.partitions(RAW_EVENTS)
        outcome = alert_enriched_batch(events, session_factory=session_factory, config=config,
                                       progress=(progress(read, events), positions), privacy=context.privacy)
        if context.hooks.alerted is not None:
            context.hooks.alerted(outcome)
        return Handled(
            messages=[Outgoing(ALERTS, a.alert_id.encode(), a.model_dump_json().encode()) for a in outcome.alerts],
            dead=dead,
            suppressed=outcome.suppressed,
        )

    return handle


LANE = LaneSpec(name="alert", topic=ENRICHED_EVENTS, group_suffix="-alert", build=build)
