"""The enrich lane: ``scrm.events.raw`` -> ``scrm.events.enriched``.

Decode (what is not a ``SocialEvent`` becomes a dead letter), route each event to its customer's current id,
enrich the batch (``streams.intake``), stamp each with its raw partition's progress (``SourceMarks``); publish
each ``EnrichedEvent`` keyed by its customer id.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ingest.records import SourceRecord
from streams.intake import take_in
from streams.lanes import LaneContext, LaneSpec
from streams.loop import Handled, Handler
from streams.steps.watermark import SourceMarks
from streams.topics import ENRICHED_EVENTS, RAW_EVENTS
from streams.transports import Outgoing


def build(context: LaneContext) -> Handler:
    enricher = context.enricher()
    session_factory = context.storage.session_factory
    marks = SourceMarks()

    def handle(records: list[SourceRecord]) -> Handled:
        intake = take_in(records, enricher=enricher, session_factory=session_factory, now=datetime.now(UTC),
                         privacy=context.privacy, marks=marks)
        return Handled(
            messages=[Outgoing(ENRICHED_EVENTS, e.customer_id.encode(), e.model_dump_json().encode())
                      for e in intake.enriched],
            dead=intake.dead,
            suppressed=intake.suppressed,
        )

    return handle


LANE = LaneSpec(name="enrich", topic=RAW_EVENTS, group_suffix="", build=build)
