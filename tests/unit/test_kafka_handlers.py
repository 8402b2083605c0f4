"""The Kafka runtime's lane handlers without a broker: records in, the messages to publish out, chained
the way the topics chain them (raw -> enriched -> profiles / links, and alerts beside them), over a real
SQLite file."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from enrichment.lexicon import LexiconEnricher
from ingest.records import SourceRecord
from profile_store.contracts import LinkSignal, Provenance
from profile_store.identity_graph import make_link
from streams.exceptions import DeadLetterRatioExceeded
from streams.runtimes.kafka import alert_handler, apply_handler, enrich_handler, identity_handler
from streams.runtimes.kafka_lane import Outgoing
from streams.settings import WorkerSettings
from streams.topics import (
    ALERTS,
    DEADLETTER,
    ENRICHED_EVENTS,
    IDENTITY_ASSIGNMENTS,
    IDENTITY_LINKS,
    PROFILES,
    RAW_EVENTS,
)


def _as_records(messages: list[Outgoing], topic: str) -> list[SourceRecord]:
    """What a consumer of ``topic`` would receive from ``messages`` (one partition, offsets in order)."""
    return [SourceRecord(value=m.value or b"", topic=topic, partition=0, offset=n, key=m.key)
            for n, m in enumerate(m for m in messages if m.topic == topic)]


def test_raw_records_flow_through_enrich_then_apply_and_alert_to_profiles_alerts_and_dead_letters(
    storage, event_factory
):
    settings = WorkerSettings()
    complaint = event_factory(author={"id": "u-9", "followers": 5000}, text="terrible quality, broken after a day, I want a refund",
                              identity_hints={"email": "nine@example.com"})
    raw = [
        SourceRecord(value=json.dumps(complaint).encode(), topic=RAW_EVENTS, partition=0, offset=0, key=b"weibo:u-9"),
        SourceRecord(value=b"\xff not json", topic=RAW_EVENTS, partition=0, offset=1, key=None),
    ]
    enriched = enrich_handler(settings, enricher=LexiconEnricher(), storage=storage)(raw)

    (letter,) = [json.loads(m.value or b"") for m in enriched if m.topic == DEADLETTER]
    assert letter["offset"] == 1 and letter["source_topic"] == RAW_EVENTS
    (event,) = [m for m in enriched if m.topic == ENRICHED_EVENTS]
    payload = json.loads(event.value or b"")
    assert event.key == payload["customer_id"].encode(), "enriched events are keyed by their customer"
    assert payload["enrichment"]["sentiment"]["label"] == "negative"

    alerted = alert_handler(settings, storage=storage)(_as_records(enriched, ENRICHED_EVENTS))
    assert {m.topic for m in alerted} == {ALERTS}
    alerts = [json.loads(m.value or b"") for m in alerted]
    assert {a["rule"] for a in alerts} >= {"negative_post"}, "alerts need no applied profile first"
    assert {a["customer_id"] for a in alerts} == {payload["customer_id"]}

    applied = apply_handler(settings, storage=storage)(_as_records(enriched, ENRICHED_EVENTS))
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

    replayed = apply_handler(settings, storage=storage)(_as_records(enriched, ENRICHED_EVENTS))
    assert [m for m in replayed if m.topic == PROFILES] == [], "a replayed batch changes no profile"
    realerted = alert_handler(settings, storage=storage)(_as_records(enriched, ENRICHED_EVENTS))
    assert realerted == alerted, "a replayed batch re-publishes its alerts as they were"
    assert {m.key: m.value for m in replayed if m.topic == IDENTITY_ASSIGNMENTS} == assignments, \
        "a replay re-publishes what a crashed batch may not have"


def test_apply_alert_and_identity_dead_letter_what_is_not_their_contract(storage):
    settings = WorkerSettings()
    junk = [SourceRecord(value=b'{"not": "an event"}', topic=ENRICHED_EVENTS, partition=0, offset=7, key=None)]
    for handler in (apply_handler(settings, storage=storage), alert_handler(settings, storage=storage)):
        (letter,) = handler(junk)
        assert letter.topic == DEADLETTER and b"not a EnrichedEvent" in (letter.value or b"")

    at = datetime(2026, 11, 1, tzinfo=UTC)
    link = LinkSignal(op="link", link=make_link("weibo:u-1", "crm:c-1", Provenance(source="api", actor="test"), at), at=at)
    records = [SourceRecord(value=link.model_dump_json().encode(), topic=IDENTITY_LINKS, partition=0, offset=0),
               SourceRecord(value=b"[]", topic=IDENTITY_LINKS, partition=0, offset=1)]
    out = identity_handler(settings, storage=storage)(records)
    assert [m.topic for m in out].count(DEADLETTER) == 1
    assert b"weibo:u-1" in {m.key for m in out if m.topic == IDENTITY_ASSIGNMENTS}, "the link was applied"


@pytest.mark.parametrize("lane", ["apply", "alert", "identity"])
def test_a_lane_fed_almost_only_junk_stops_instead_of_draining_its_topic_into_dead_letters(storage, lane):
    settings = WorkerSettings()
    handlers = {"apply": apply_handler, "alert": alert_handler, "identity": identity_handler}
    handle = handlers[lane](settings, storage=storage)
    junk = [SourceRecord(value=b"{}", topic=ENRICHED_EVENTS, partition=0, offset=n, key=None) for n in range(60)]
    assert all(m.topic == DEADLETTER for m in handle(junk)), "a few bad records are dead-lettered"
    with pytest.raises(DeadLetterRatioExceeded):
        handle(junk)
