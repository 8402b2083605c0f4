"""Segment rule cases shared by the SQLite unit tests (``test_segment_dsl.py``) and the PostgreSQL
integration tests (``tests/integration/test_segment_dsl_postgres.py``): four customers with profiles
(some with ``crm``/``consent`` JSON the model does not hold yet) and enriched events stored as the apply
lane stores them, rules, and the customer ids each rule must select. Nothing here touches the network.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, insert, inspect
from sqlalchemy.orm import Session

from enrichment.contracts import Enrichment, ModelStamp, Sentiment
from ingest.contracts import SocialEvent
from profile_store.contracts import CustomerProfile, SentimentSummary
from profile_store.segments import SegmentRule, compile_rule, matches, parse_rule
from profile_store.tables import IdentityRow, ProfileEventRow, ProfileRow
from streams.contracts import EnrichedEvent

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
"""The reference time (the stream's newest event time) the cases are decided at."""
ALL = frozenset({"ann", "bo", "cy", "dee"})
INJECTION = "'; DROP TABLE profiles; --"


def _day(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


PROFILES: dict[str, dict[str, Any]] = {
    "ann": {
        "profile": CustomerProfile(
            customer_id="ann", identities=("douyin:ann", "weibo:ann"), display_name="Ann 小红",
            first_seen=_day("2026-01-10T09:00"), last_seen=_day("2026-11-29T10:00"), event_count=7, active_days=6,
            counts_by_platform={"weibo": 5, "douyin": 2}, counts_by_kind={"comment": 4, "post": 1},
            brands={"acme": 4}, sentiment=SentimentSummary(ewma=0.6, positive=5, neutral=1),
            topics={"battery": 0.8}, intents={"praise": 2}, followers=12_000, verified=True, lifecycle="fan",
            churn_risk=0.1, influence=72.5),
        "extra": {"crm": {"tier": "gold", "ltv": 1200, "tags": ["vip", "newsletter"]},
                  "consent": {"email": True, "sms": False}},
    },
    "bo": {
        "profile": CustomerProfile(
            customer_id="bo", identities=("weibo:bo",), display_name="Bo", first_seen=_day("2026-06-01T00:00"),
            last_seen=_day("2026-11-01T08:00"), event_count=3, counts_by_platform={"weibo": 3},
            brands={"acme": 1, "rival": 3}, sentiment=SentimentSummary(ewma=-0.2, positive=2, negative=1),
            topics={"price": 0.5}, intents={"complaint": 1}, followers=300, lifecycle="advocate", churn_risk=0.55,
            influence=40.0),
        "extra": {"crm": {"tier": "silver", "ltv": 300}, "consent": {"email": False}},
    },
    "cy": {
        "profile": CustomerProfile(
            customer_id="cy", identities=("douyin:cy",), first_seen=_day("2025-12-01T00:00"),
            last_seen=_day("2026-09-15T00:00"), event_count=4, counts_by_platform={"douyin": 4}, brands={"rival": 2},
            sentiment=SentimentSummary(ewma=-0.7, negative=4), followers=50, lifecycle="detractor", churn_risk=0.9,
            influence=15.0),
        "extra": {},
    },
    "dee": {
        "profile": CustomerProfile(
            customer_id="dee", identities=("x:dee",), display_name=INJECTION, first_seen=_day("2026-11-28T00:00"),
            last_seen=_day("2026-11-28T00:00"), counts_by_platform={"x": 1}, lifecycle="prospect"),
        "extra": {"crm": {"tier": 3, "tags": "vip"}},
    },
}


@dataclass(frozen=True)
class Event:
    """One stored event: whose identity, when (days before ``NOW``; negative: after it) and what."""

    identity: str
    days_ago: float
    kind: str
    brand: str | None
    sentiment: str
    topics: tuple[str, ...] = ()
    intents: tuple[str, ...] = ()


EVENTS: tuple[Event, ...] = (
    Event("weibo:ann", 2, "comment", "acme", "positive"),
    Event("weibo:ann", 5, "comment", "acme", "positive"),
    Event("weibo:ann", 10, "comment", "acme", "positive"),
    Event("weibo:ann", 40, "mention", "acme", "positive"),
    Event("weibo:ann", -1, "comment", "acme", "positive"),  # after the reference time: a replay has not seen it
    Event("douyin:ann", 1, "post", "rival", "negative", topics=("battery",), intents=("complaint",)),
    Event("weibo:bo", 3, "comment", "acme", "positive"),
    Event("weibo:bo", 5, "comment", "acme", "positive"),
    Event("weibo:bo", 2, "mention", "acme", "negative", topics=("price",), intents=("complaint", "question")),
    *(Event("douyin:cy", 20, "comment", "rival", "negative") for _ in range(4)),
)


def enriched(event: Event, number: int, customer_id: str) -> EnrichedEvent:
    """The enriched event the apply lane would store for ``event``."""
    platform, author = event.identity.split(":")
    at = NOW - timedelta(days=event.days_ago)
    social = SocialEvent(event_id=f"e-{number}", platform=platform, kind=event.kind, occurred_at=at, received_at=at,
                         author={"id": author}, brand=event.brand, text="text", source="test")  # type: ignore[arg-type]
    score = {"positive": 0.8, "neutral": 0.0, "negative": -0.8}[event.sentiment]
    enrichment = Enrichment(sentiment=Sentiment(label=event.sentiment, score=score, confidence=0.9),  # type: ignore[arg-type]
                            topics=event.topics, intents=event.intents, language="en",  # type: ignore[arg-type]
                            model=ModelStamp(name="test", version="1"))
    return EnrichedEvent(customer_id=customer_id, event=social, enrichment=enrichment)


def profile_data(profile: CustomerProfile, extra: dict[str, Any]) -> dict[str, Any]:
    """The stored JSON of a profile, with keys the model does not hold yet (``crm``, ``consent``)."""
    return {**profile.model_dump(mode="json"), **extra}


def _stored_events(profiles: dict[str, dict[str, Any]], events: tuple[Event, ...]) -> list[EnrichedEvent]:
    owner = {key: cid for cid, entry in profiles.items() for key in entry["profile"].identities}
    return [enriched(event, number, owner[event.identity]) for number, event in enumerate(events)]


def payloads_of(profiles: dict[str, dict[str, Any]], events: tuple[Event, ...]) -> dict[str, list[dict[str, Any]]]:
    """Each customer's stored event payloads (what ``matches`` gets), without a database."""
    payloads: dict[str, list[dict[str, Any]]] = {cid: [] for cid in profiles}
    for e in _stored_events(profiles, events):
        payloads[e.customer_id].append(e.model_dump(mode="json"))
    return payloads


def store(session: Session, profiles: dict[str, dict[str, Any]], events: tuple[Event, ...]) -> dict[str, list[dict[str, Any]]]:
    """Write profiles, their identities and events as the profile store keeps them; return each
    customer's stored event payloads (what ``matches`` gets)."""
    session.execute(insert(ProfileRow.__table__), [
        {"customer_id": p.customer_id, "display_name": p.display_name, "lifecycle": p.lifecycle,
         "influence": p.influence, "churn_risk": p.churn_risk, "sentiment_ewma": p.sentiment.ewma,
         "event_count": p.event_count, "first_seen": p.first_seen, "last_seen": p.last_seen,
         "data": profile_data(p, entry["extra"])}
        for entry in profiles.values() for p in [entry["profile"]]])
    session.execute(insert(IdentityRow.__table__), [
        {"identity_key": key, "customer_id": cid} for cid, entry in profiles.items() for key in entry["profile"].identities])
    rows = [{"event_key": e.event.event_key, "post_key": e.event.post_key, "identity_key": e.event.identity_key,
             "occurred_at": e.event.occurred_at_utc, "thread_key": None, "data": e.model_dump(mode="json"),
             "stored_at": e.event.occurred_at_utc}
            for e in _stored_events(profiles, events)]
    if rows:
        session.execute(insert(ProfileEventRow.__table__), rows)
    return payloads_of(profiles, events)


def select_members(session: Session, rule: dict[str, Any], now: datetime = NOW) -> set[str]:
    """The customer ids the compiled rule selects."""
    statement = compile_rule(parse_rule(rule), now=now, dialect=session.get_bind().dialect.name)
    return set(session.scalars(statement))


def python_members(profiles: dict[str, dict[str, Any]], payloads: dict[str, list[dict[str, Any]]],
                   rule: dict[str, Any] | SegmentRule, now: datetime = NOW) -> set[str]:
    """The customer ids ``matches`` admits."""
    parsed = rule if isinstance(rule, SegmentRule) else parse_rule(rule)
    return {cid for cid, entry in profiles.items()
            if matches(parsed, profile_data(entry["profile"], entry["extra"]), payloads[cid], now)}


def assert_agreement(engine: Engine, world: tuple[dict[str, dict[str, Any]], tuple[Event, ...]],
                     rules: list[dict[str, Any]]) -> None:
    """Store ``world`` (customers, events) in place of what ``engine`` holds; each rule must select in SQL
    exactly the customers ``matches`` admits."""
    profiles, events = world
    with Session(engine) as session, session.begin():
        for table in (ProfileEventRow, IdentityRow, ProfileRow):
            session.execute(delete(table))
        payloads = store(session, profiles, events)
    with Session(engine) as session:
        for rule in rules:
            assert select_members(session, rule) == python_members(profiles, payloads, rule), rule


def tables_intact(session: Session) -> bool:
    return {"profiles", "profile_events", "identities"} <= set(inspect(session.get_bind()).get_table_names())


def _f(field: str, op: str, value: Any = None) -> dict[str, Any]:
    return {"field": field, "op": op, **({} if value is None else {"value": value})}


def _events(op: str, value: int, **filters: Any) -> dict[str, Any]:
    return {"events": filters, "op": op, "value": value}


CASES: list[tuple[str, dict[str, Any], set[str]]] = [
    ("enum eq", _f("lifecycle", "eq", "fan"), {"ann"}),
    ("enum ne", _f("lifecycle", "ne", "fan"), {"bo", "cy", "dee"}),
    ("enum in", _f("lifecycle", "in", ["fan", "advocate"]), {"ann", "bo"}),
    ("enum not_in", _f("lifecycle", "not_in", ["fan", "advocate"]), {"cy", "dee"}),
    ("number gt", _f("influence", "gt", 40), {"ann"}),
    ("number gte", _f("influence", "gte", 40), {"ann", "bo"}),
    ("number lt", _f("influence", "lt", 15), {"dee"}),
    ("number lte float", _f("influence", "lte", 15.0), {"cy", "dee"}),
    ("number eq", _f("event_count", "eq", 7), {"ann"}),
    ("number ne", _f("event_count", "ne", 7), {"bo", "cy", "dee"}),
    ("followers from JSON", _f("followers", "gte", 300), {"ann", "bo"}),
    ("sentiment mean", _f("sentiment", "lt", 0), {"bo", "cy"}),
    ("sentiment counts", _f("sentiment.negative", "gte", 1), {"bo", "cy"}),
    ("churn risk", _f("churn_risk", "gte", 0.5), {"bo", "cy"}),
    ("platforms contains", _f("platforms", "contains", "weibo"), {"ann", "bo"}),
    ("brands contains", _f("brands", "contains", "rival"), {"bo", "cy"}),
    ("topics contains", _f("topics", "contains", "battery"), {"ann"}),
    ("intents contains", _f("intents", "contains", "complaint"), {"bo"}),
    ("kinds contains", _f("kinds", "contains", "comment"), {"ann"}),
    ("identities contains", _f("identities", "contains", "douyin:ann"), {"ann"}),
    ("date before", _f("first_seen", "lt", "2026-01-01"), {"cy"}),
    ("date at or after, with offset", _f("first_seen", "gte", "2026-06-01T08:00:00+08:00"), {"bo", "dee"}),
    ("date within days", _f("last_seen", "within_days", 7), {"ann", "dee"}),
    ("text contains", _f("display_name", "contains", "小红"), {"ann"}),
    ("text eq", _f("display_name", "eq", "Bo"), {"bo"}),
    ("text exists", _f("display_name", "exists"), {"ann", "bo", "dee"}),
    ("text exists false", _f("display_name", "exists", False), {"cy"}),
    ("flag", _f("verified", "eq", True), {"ann"}),
    ("flag ne", _f("verified", "ne", True), {"bo", "cy", "dee"}),
    ("crm string eq", _f("crm.tier", "eq", "gold"), {"ann"}),
    ("crm number eq is not a string", _f("crm.tier", "eq", 3), {"dee"}),
    ("crm in", _f("crm.tier", "in", ["gold", "silver"]), {"ann", "bo"}),
    ("crm not_in: missing and other types are false", _f("crm.tier", "not_in", ["gold"]), {"bo"}),
    ("crm number gte", _f("crm.ltv", "gte", 300), {"ann", "bo"}),
    ("crm exists", _f("crm.tier", "exists"), {"ann", "bo", "dee"}),
    ("crm array contains (a string is no array)", _f("crm.tags", "contains", "vip"), {"ann"}),
    ("consent true", _f("consent.email", "eq", True), {"ann"}),
    ("consent ne: missing is false", _f("consent.email", "ne", True), {"bo"}),
    ("not of a missing value is true", {"not": _f("consent.email", "eq", True)}, {"bo", "cy", "dee"}),
    ("nested any of all", {"any": [_f("lifecycle", "eq", "detractor"),
                                   {"all": [_f("platforms", "contains", "weibo"), _f("influence", "gte", 50)]}]},
     {"ann", "cy"}),
    ("not of all", {"not": {"all": [_f("lifecycle", "in", ["fan", "advocate"]), _f("brands", "contains", "acme")]}},
     {"cy", "dee"}),
    ("the issue's example", {"all": [
        _f("lifecycle", "in", ["fan", "advocate"]), _f("platforms", "contains", "weibo"),
        _events("gte", 3, kind=["comment", "mention"], brand="acme", sentiment="positive", within_days=30)]},
     {"ann"}),
    ("events by kinds and brand", _events("gte", 3, kind=["comment", "mention"], brand="acme", within_days=30),
     {"ann", "bo"}),
    ("events without window count later ones too", _events("gte", 4, kind="comment"), {"ann", "cy"}),
    ("events window ends at the reference time", _events("gte", 4, kind="comment", within_days=30), {"cy"}),
    ("events of every identity", _events("gte", 1, platform="douyin"), {"ann", "cy"}),
    ("events topic", _events("gte", 1, topic="battery"), {"ann"}),
    ("events intent any of", _events("eq", 1, intent=["complaint", "praise"]), {"ann", "bo"}),
    ("events none", _events("eq", 0), {"dee"}),
    ("events ne", _events("ne", 0), {"ann", "bo", "cy"}),
    ("events lt within days", _events("lt", 1, sentiment="negative", within_days=3), {"cy", "dee"}),
    ("events lte", _events("lte", 3), {"bo", "dee"}),
    ("events gt", _events("gt", 4, brand="acme"), {"ann"}),
    ("value injection is a value", _f("display_name", "eq", INJECTION), {"dee"}),
    ("value injection in contains", _f("brands", "contains", "acme' OR '1'='1"), set()),
    ("value injection in crm", _f("crm.tier", "in", ["x') OR 1=1 --", 'gold" OR "1"="1']), set()),
    ("value injection in event filters", _events("eq", 0, brand=INJECTION), set(ALL)),
]

REFERENCE_TIME_CASES: list[tuple[str, dict[str, Any], datetime, set[str]]] = [
    ("last seen within 7 days of an earlier clock", _f("last_seen", "within_days", 7), _day("2026-11-05T00:00"), {"bo"}),
    ("events within 45 days of an earlier clock",
     _events("gte", 2, brand="acme", within_days=45), _day("2026-11-21T00:00"), {"ann"}),
    ("events within half a day", _events("gte", 1, within_days=0.5), NOW + timedelta(days=1), {"ann"}),
]

BAD_RULES: list[tuple[str, Any, str]] = [
    ("unknown field", {"all": [_f("lifecyle", "eq", "fan")]}, "all[0]: unknown field 'lifecyle'"),
    ("wrong op for field", {"all": [_f("lifecycle", "eq", "fan"), _f("platforms", "gt", 3)]},
     "all[1]: op 'gt' does not apply to field 'platforms'"),
    ("unknown op", _f("influence", "greater", 3), "unknown op 'greater'"),
    ("number field given text", _f("influence", "gte", "high"), "field 'influence' with op 'gte' takes a number"),
    ("boolean is no number", _f("influence", "gte", True), "takes a number"),
    ("in needs a list", _f("lifecycle", "in", "fan"), "op 'in' on field 'lifecycle' takes a non-empty list"),
    ("empty in", _f("lifecycle", "in", []), "non-empty list"),
    ("enum value unknown", _f("lifecycle", "eq", "fna"), "'fna' is not a value of field 'lifecycle'"),
    ("platform unknown", _f("platforms", "contains", "myspace"), "'myspace' is not a value of field 'platforms'"),
    ("date not ISO", _f("first_seen", "gte", "yesterday"), "takes an ISO date or date-time"),
    ("within_days not positive", _f("last_seen", "within_days", 0), "positive number of days"),
    ("within_days on a number", _f("influence", "within_days", 3), "op 'within_days' does not apply"),
    ("crm ordering needs a number", _f("crm.ltv", "gt", "100"), "field 'crm.ltv' with op 'gt' takes a number"),
    ("crm in of mixed types", _f("crm.tier", "in", ["gold", 3]), "all strings or all numbers"),
    ("empty all", {"all": []}, "'all' needs at least one condition"),
    ("empty any nested", {"not": {"any": []}}, "not.any: 'any' needs at least one condition"),
    ("no node keys", {"filed": "lifecycle"}, "a condition needs one of the keys"),
    ("extra key", {"field": "lifecycle", "op": "eq", "value": "fan", "or": 1}, "unknown key 'or'"),
    ("value of no JSON scalar type", _f("crm.tier", "eq", {"a": 1}), "value: a value is a string (1-256 characters)"),
    ("overlong value", _f("display_name", "eq", "x" * 257), "value: a value is a string (1-256 characters)"),
    ("empty event filter list", _events("gte", 1, kind=[]), "events.kind: an event filter takes a string"),
    ("unknown event filter", _events("gte", 1, kinds="comment"), "events: unknown key 'kinds'"),
    ("bad event kind", _events("gte", 1, kind="commnt"), "event kind 'commnt' is not one of"),
    ("negative count", _events("gte", -1), "value: Input should be greater than or equal to 0"),
    ("schema version", {"schema_version": 2, "field": "lifecycle", "op": "eq", "value": "fan"}, "schema_version"),
    ("too deep", {"not": {"not": {"not": {"not": {"not": {"not": {"not": {"not": {"not": {"not": {"not": {"not": {
        "not": {"not": {"not": {"not": _f("lifecycle", "eq", "fan")}}}}}}}}}}}}}}}}, "nests at most 16 deep"),
]

INJECTED_FIELDS: list[str] = [
    "lifecycle; DROP TABLE profiles; --", "crm.tier') OR 1=1 --", 'consent."email"', "crm.a.b", "crm.", "data",
    "profiles.customer_id", "customer_id", "crm.tier\" OR \"1\"=\"1", "CRM.tier", "consent.e-mail",
]
