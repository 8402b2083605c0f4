"""The dead-letter lane: ``scrm.deadletter`` -> the dead-letter table, so the API, the console and
``scrm deadletters`` show every runtime's rejected input in one place.

Idempotent (a dead letter is stored once, ``ingest.deadletter_store.letter_key``). A record on the topic
that is not a ``DeadLetter`` (an outside producer writing there) is kept too, as a dead letter of stage
``deadletter`` holding its bytes: nothing is dropped, and this lane itself never dead-letters.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ingest.deadletter import DeadLetter
from ingest.deadletter_store import record_dead_letters
from ingest.records import SourceRecord
from streams.lanes import LaneContext, LaneSpec
from streams.loop import Handled, Handler
from streams.steps.decode import parse_records
from streams.topics import DEADLETTER


def build(context: LaneContext) -> Handler:
    session_factory = context.storage.session_factory

    def handle(records: list[SourceRecord]) -> Handled:
        letters, foreign = parse_records(records, DeadLetter, stage="deadletter")
        now = datetime.now(UTC)
        kept = [*letters, *(f.model_copy(update={"failed_at": now}) for f in foreign)]
        with session_factory() as session, session.begin():
            record_dead_letters(kept, session=session)
        return Handled()

    return handle


LANE = LaneSpec(name="deadletter", topic=DEADLETTER, group_suffix="-deadletter", build=build)
