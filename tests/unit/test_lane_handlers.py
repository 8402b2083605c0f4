"""The lanes' handlers (``streams.lanes``, the same in both runtimes) without a broker: records in, the
messages to publish and the dead letters out, chained the way the topics chain them (raw -> enriched ->
profiles / links, and alerts beside them), over a real SQLite file."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

from enrichment.lexicon import LexiconEnricher
from ingest.records import SourceRecord
from profile_store.contracts import LinkSignal, Provenance
from profile_store.identity_graph import make_link
from profile_store.privacy import PrivacyKey
from streams.config import PipelineConfig
from streams.lanes import LaneContext, lane_specs
from streams.loop import Handler
from streams.storage import Storage
from streams.topics import (
    ALERTS,
    ENRICHED_EVENTS,
    IDENTITY_ASSIGNMENTS,
    IDENTITY_LINKS,
    PROFILES,
    RAW_EVENTS,
)
from streams.transports import Outgoing


def _handler(lane: str, storage: Storage) -> Handler:
    context = LaneContext(pipeline=PipelineConfig(), storage=storage, enricher=LexiconEnricher,
                          privacy=PrivacyKey(b"test"))
    (spec,) = [spec for spec in lane_specs() if spec.name == lane]
    return spec.build(context)


def _as_records(messages: Sequence[Outgoing], topic: str) -> list[SourceRecord]:
    """What a consumer of ``topic`` would receive from ``messages`` (one partition, offsets in order)."""
    return [SourceRecord(value=m.value or b"", topic=topic, partition=0, offset=n, key=m.key)
            for n, m in enumerate(m for m in messages if m.topic == topic)]


def test_raw_records_flow_through_enrich_then_apply_and_alert_to_profiles_alerts_and_dead_letters(
    storage, event_factory
):
    complaint = event_factory(author={"id": "u-9", "followers": 20_000}, text="terrible quality, broken after a day, I want a refund",
                              identity_hints={"email": "nine@example.com"})
    raw = [
        SourceRecord(value=json.dumps(complaint).encode(), topic=RAW_EVENTS, partition=0, offset=0, key=b"weibo:u-9"),
        SourceRecord(value=b"\xff not json", topic=RAW_EVENTS, partition=0, offset=1, key=None),
    ]
    handled = _handler("enrich", storage)(raw)
    enriched = list(handled.messages)

    (letter,) = handled.dead
    assert letter.offset == 1 and letter.source_topic == RAW_EVENTS and letter.original == b"\xff not json"
    (event,) = [m for m in enriched if m.topic == ENRICHED_EVENTS]
    payload = json.loads(event.value or b"")
    assert event.key == payload["customer_id"].encode(), "enriched events are keyed by their customer"
    assert payload["enrichment"]["sentiment"]["label"] == "negative"

    alerted = _handler("alert", storage)(_as_records(enriched, ENRICHED_EVENTS)).messages
    assert {m.topic for m in alerted} == {ALERTS}
    alerts = [json.loads(m.value or b"") for m in alerted]
    assert {a["rule"] for a in alerts} >= {"negative_post"}, "alerts need no applied profile first"
    assert {a["customer_id"] for a in alerts} == {payload["customer_id"]}

    applied = _handler("apply", storage)(_as_records(enriched, ENRICHED_EVENTS)).messages
    by_topic = {topic: [json.loads(m.value or b"") for m in applied if m.topic == topic]
                for topic in (ALERTS, PROFILES, IDENTITY_LINKS)}
    assert by_topic[ALERTS] == [], "the apply lane raises no alerts"
    assert [p["customer_id"] for p in by_topic[PROFILES]] == [payload["customer_id"]]
    assert by_topic[PROFILES][0]["event_count"] == 1
    assert by_topic[PROFILES][0]["identities"] == ["email:nine@example.com", "weibo:u-9"], \
        "a never-seen e-mail joins its account's customer in the applying transaction"
    assert by_topic[IDENTITY_LINKS] == [], "so the identity lane has nothing left to do"
    assignments = {m.key: m.value for m in applied if m.topic == IDENTITY_ASSIGNMENTS}
    assert assignments == {b"email:nine@example.com": payload["customer_id"].encode()}

    replayed = _handler("apply", storage)(_as_records(enriched, ENRICHED_EVENTS)).messages
    assert [m for m in replayed if m.topic == PROFILES] == [], "a replayed batch changes no profile"
    realerted = _handler("alert", storage)(_as_records(enriched, ENRICHED_EVENTS)).messages
    assert realerted == alerted, "a replayed batch re-publishes its alerts as they were"
    assert {m.key: m.value for m in replayed if m.topic == IDENTITY_ASSIGNMENTS} == assignments, \
        "a replay re-publishes what a crashed batch may not have"


def test_apply_alert_and_identity_dead_letter_what_is_not_their_contract(storage):
    junk = [SourceRecord(value=b'{"not": "an event"}', topic=ENRICHED_EVENTS, partition=0, offset=7, key=None)]
    for lane in ("apply", "alert"):
        handled = _handler(lane, storage)(junk)
        (letter,) = handled.dead
        assert letter.offset == 7 and letter.stage == lane and "not a EnrichedEvent" in letter.error
        assert not [m for m in handled.messages if m.topic == ALERTS]

    at = datetime(2026, 11, 1, tzinfo=UTC)
    link = LinkSignal(op="link", link=make_link("weibo:u-1", "crm:c-1", Provenance(source="api", actor="test"), at), at=at)
    records = [SourceRecord(value=link.model_dump_json().encode(), topic=IDENTITY_LINKS, partition=0, offset=0),
               SourceRecord(value=b"[]", topic=IDENTITY_LINKS, partition=0, offset=1)]
    handled = _handler("identity", storage)(records)
    assert [letter.offset for letter in handled.dead] == [1]
    assert b"weibo:u-1" in {m.key for m in handled.messages if m.topic == IDENTITY_ASSIGNMENTS}, "the link was applied"


def test_the_dead_letter_lane_stores_each_dead_letter_once_and_keeps_foreign_records(storage):
    from ingest.deadletter import DeadLetter
    from ingest.deadletter_store import list_dead_letters
    from streams.topics import DEADLETTER

    letter = DeadLetter(original=b"junk", error="<payload>: not JSON", stage="decode", source_topic=RAW_EVENTS,
                        partition=2, offset=41, failed_at=datetime(2026, 11, 1, tzinfo=UTC))
    records = [SourceRecord(value=letter.model_dump_json().encode(), topic=DEADLETTER, partition=0, offset=n)
               for n in range(2)]  # delivered twice
    records.append(SourceRecord(value=b"not a dead letter", topic=DEADLETTER, partition=0, offset=2))
    handle = _handler("deadletter", storage)
    assert not handle(records).dead
    handle(records)  # a redelivered batch stores nothing new
    with storage.session_factory() as session:
        stored = list_dead_letters(session=session)
    assert sorted((d.stage, d.original) for d in stored) == [("deadletter", b"not a dead letter"), ("decode", b"junk")]


def test_the_apply_lane_publishes_segment_changes_keyed_by_customer(storage, event_factory):
    from profile_store.segments import parse_text
    from profile_store.segments.store import create_segment
    from streams.topics import SEGMENT_CHANGES

    with storage.session_factory.begin() as session:
        create_segment("weibo-people", parse_text("platforms contains weibo"), by="t",
                       at=datetime(2026, 11, 1, tzinfo=UTC), session=session)
    raw = [SourceRecord(value=json.dumps(event_factory(author={"id": "seg-lane"})).encode(), topic=RAW_EVENTS,
                        partition=0, offset=0, key=b"weibo:seg-lane")]
    enriched = _as_records(_handler("enrich", storage)(raw).messages, ENRICHED_EVENTS)
    (change,) = [m for m in _handler("apply", storage)(enriched).messages if m.topic == SEGMENT_CHANGES]
    payload = json.loads(change.value or b"")
    assert (payload["segment"], payload["change"]) == ("weibo-people", "enter")
    assert change.key == payload["customer_id"].encode() and payload["cause"].startswith("weibo:seg-lane/")
