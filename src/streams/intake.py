"""Intake: raw records to enriched events and dead letters.

The first half of the pipeline, shared by both runtimes: decode (invalid input becomes a dead letter and
is counted by the lane loop's dead-letter guard), route each event to its customer's current id and enrich the
batch. Blocks (database lookup, model inference). The links an event's identity hints state are
published after it is applied (``streams.unit_of_work``), when its account is registered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from enrichment.protocols import Enricher
from ingest.contracts import SocialEvent
from ingest.deadletter import DeadLetter
from ingest.records import SourceRecord
from profile_store.privacy import PrivacyKey, suppressed
from streams.contracts import EnrichedEvent, SourceMark
from streams.identity_service import lookup_assignments
from streams.steps.decode import decode_record
from streams.steps.enrich import enrich_events
from streams.steps.identity import resolve_customer
from streams.steps.watermark import SourceMarks


@dataclass(frozen=True)
class Intake:
    """What a batch of raw records became, in input order."""

    enriched: list[EnrichedEvent]
    dead: list[DeadLetter]
    suppressed: int = 0
    """Records of erased people (by the record's key or the event's author), dropped."""


def take_in(
    records: Sequence[SourceRecord],
    *,
    enricher: Enricher,
    session_factory: sessionmaker[Session],
    now: datetime,
    privacy: PrivacyKey,
    marks: SourceMarks | None = None,
) -> Intake:
    """Blocks; raises on database and model errors (nothing is kept of the batch). With ``marks``, each
    enriched event carries its ``SourceMark``. A record keyed by an erased identity, or whose event's
    author is one, is dropped and counted (``Intake.suppressed``): neither enriched nor dead-lettered."""
    events: list[SocialEvent] = []
    stamps: list[SourceMark | None] = []
    dead: list[DeadLetter] = []
    decoded_records = [(record, decode_record(record, now=now)) for record in records]

    def keys_of(record: SourceRecord, decoded: SocialEvent | DeadLetter) -> set[str]:
        """The record's key (the author's identity key on the raw topic) and its event's author."""
        keys = {record.key.decode(errors="replace")} if record.key else set()
        return keys if isinstance(decoded, DeadLetter) else keys | {decoded.identity_key}

    named = [keys_of(record, decoded) for record, decoded in decoded_records]
    with session_factory() as session:
        erased = suppressed(set().union(*named), privacy, session=session)
    suppressed_count = 0
    for (record, decoded), keys in zip(decoded_records, named, strict=True):
        if erased & keys:
            suppressed_count += 1
        elif isinstance(decoded, DeadLetter):
            dead.append(decoded)
        else:
            events.append(decoded)
            stamps.append(marks.stamp(record, decoded) if marks is not None else None)
    assignments = lookup_assignments([event.identity_key for event in events], session_factory=session_factory)
    resolved = [(event, resolve_customer(event, assignments)) for event in events]
    enriched = enrich_events(resolved, enricher) if resolved else []
    return Intake(enriched=[e.model_copy(update={"source": mark}) if mark is not None else e
                            for e, mark in zip(enriched, stamps, strict=True)], dead=dead, suppressed=suppressed_count)
