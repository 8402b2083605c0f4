"""Hypothesis strategies for the SQL-versus-Python agreement of segment rules: random customers (profiles
with and without ``crm``/``consent`` JSON of every JSON type, events on their identities around the
reference time) and random valid rules over every field kind, op and event filter. Values come from
small pools so that conditions hit, miss and meet their boundaries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import strategies as st
from segment_cases import INJECTION, NOW, Event

from profile_store.contracts import CustomerProfile, SentimentSummary
from profile_store.segments.fields import FIELDS, FieldSpec

NUMBERS = (0, 1, 3, 15, 40, 40.5, 72.5, 300, -0.2, 0.55, 0.9)
TEXTS = ("Ann", "小红", "Bo", INJECTION, "an")
BRANDS = ("acme", "rival")
TOPICS = ("battery", "price")
INTENTS = ("complaint", "praise", "question")
PLATFORMS = ("weibo", "douyin", "x")
KINDS = ("comment", "mention", "post")
DAYS = (-1, 0, 0.5, 1, 3, 7, 10, 30, 40, 400)
JSON_VALUES: tuple[Any, ...] = ("gold", "silver", 3, 300, 1200.5, True, False, None, ["vip", "gold"], "vip", {"a": 1})
LIFECYCLES = ("prospect", "customer", "member", "fan", "advocate", "detractor")


def _when(days_ago: float) -> str:
    return (NOW - timedelta(days=days_ago)).isoformat()


def _counts(keys: tuple[str, ...]) -> st.SearchStrategy[dict[str, int]]:
    return st.dictionaries(st.sampled_from(keys), st.integers(0, 5), max_size=len(keys))


@st.composite
def customer(draw: st.DrawFn, customer_id: str) -> dict[str, Any]:
    """``{"profile": CustomerProfile, "extra": {...}}`` as ``segment_cases.PROFILES`` holds them."""
    first, last = sorted(draw(st.lists(st.sampled_from(DAYS), min_size=2, max_size=2)), reverse=True)
    identities = draw(st.lists(st.sampled_from(PLATFORMS), min_size=1, max_size=3, unique=True))
    profile = CustomerProfile(
        customer_id=customer_id, identities=tuple(f"{p}:{customer_id}" for p in identities),
        display_name=draw(st.none() | st.sampled_from(TEXTS)),
        first_seen=NOW - timedelta(days=first), last_seen=NOW - timedelta(days=last),
        event_count=draw(st.sampled_from((0, 1, 3, 15))), active_days=draw(st.integers(0, 3)),
        counts_by_platform=draw(_counts(PLATFORMS)), counts_by_kind=draw(_counts(KINDS)), brands=draw(_counts(BRANDS)),
        sentiment=SentimentSummary(ewma=draw(st.sampled_from((-0.2, 0.0, 0.55, 0.9))), positive=draw(st.integers(0, 3)),
                                   neutral=draw(st.integers(0, 3)), negative=draw(st.integers(0, 3))),
        topics={k: float(v) for k, v in draw(_counts(TOPICS)).items()}, intents=draw(_counts(INTENTS)),
        followers=draw(st.sampled_from((0, 3, 300))), verified=draw(st.booleans()),
        lifecycle=draw(st.sampled_from(LIFECYCLES)), churn_risk=draw(st.sampled_from((0.0, 0.55, 0.9))),
        influence=draw(st.sampled_from((0.0, 15.0, 40.0, 40.5, 72.5))),
    )
    extra: dict[str, Any] = {}
    for family, keys in (("crm", ("tier", "ltv", "tags")), ("consent", ("email",))):
        if draw(st.booleans()):
            extra[family] = draw(st.dictionaries(st.sampled_from(keys), st.sampled_from(JSON_VALUES)))
    return {"profile": profile, "extra": extra}


@st.composite
def population(draw: st.DrawFn) -> tuple[dict[str, dict[str, Any]], tuple[Event, ...]]:
    """1-5 customers and 0-12 events on their identities."""
    profiles = {f"c{n}": draw(customer(f"c{n}")) for n in range(draw(st.integers(1, 5)))}
    keys = sorted(key for entry in profiles.values() for key in entry["profile"].identities)
    events = draw(st.lists(st.builds(
        Event, st.sampled_from(keys), st.sampled_from(DAYS), st.sampled_from(KINDS), st.none() | st.sampled_from(BRANDS),
        st.sampled_from(("positive", "neutral", "negative")),
        st.lists(st.sampled_from(TOPICS), max_size=2, unique=True).map(tuple),
        st.lists(st.sampled_from(INTENTS), max_size=2, unique=True).map(tuple)), max_size=12))
    return profiles, tuple(events)


def _scalar(spec: FieldSpec, op: str) -> st.SearchStrategy[Any]:
    kind = spec.kind
    if kind == "enum":
        return st.sampled_from(LIFECYCLES)
    if kind == "number" or (kind == "json" and op in ("gt", "gte", "lt", "lte")):
        return st.sampled_from(NUMBERS)
    if kind == "date":
        return st.sampled_from(DAYS).map(_when) | st.sampled_from(("2026-11-29", "2026-11-30T12:00:00"))
    if kind == "text":
        return st.sampled_from(TEXTS)
    if kind == "flag":
        return st.booleans()
    if spec.name == "platforms":
        return st.sampled_from(PLATFORMS)
    if spec.name == "kinds":
        return st.sampled_from(KINDS)
    if kind in ("keys", "list"):
        return st.sampled_from((*BRANDS, *TOPICS, *INTENTS, "weibo:c0", "douyin:c1"))
    if op == "contains":
        return st.sampled_from(("vip", "gold"))
    return st.sampled_from(tuple(v for v in JSON_VALUES if isinstance(v, str | int | float) and v is not None))


FAMILY_FIELDS = (FieldSpec("crm.tier", "json", ("crm", "tier")), FieldSpec("crm.ltv", "json", ("crm", "ltv")),
                 FieldSpec("crm.tags", "json", ("crm", "tags")), FieldSpec("consent.email", "json", ("consent", "email")))


@st.composite
def field_condition(draw: st.DrawFn) -> dict[str, Any]:
    spec = draw(st.sampled_from((*FIELDS.values(), *FAMILY_FIELDS)))
    op = draw(st.sampled_from(spec.ops))
    if op == "exists":
        value: Any = draw(st.sampled_from((None, True, False)))
    elif op == "within_days":
        value = draw(st.sampled_from((0.5, 1, 7, 30, 400)))
    elif op in ("in", "not_in"):
        scalar = _scalar(spec, op)
        if spec.kind == "json":
            scalar = st.sampled_from(("gold", "silver", "vip")) if draw(st.booleans()) else st.sampled_from(NUMBERS)
        value = draw(st.lists(scalar, min_size=1, max_size=3))
    else:
        value = draw(_scalar(spec, op))
    return {"field": spec.name, "op": op, **({} if value is None else {"value": value})}


@st.composite
def event_condition(draw: st.DrawFn) -> dict[str, Any]:
    pools = {"kind": KINDS, "brand": BRANDS, "sentiment": ("positive", "neutral", "negative"), "platform": PLATFORMS,
             "topic": TOPICS, "intent": INTENTS}
    filters: dict[str, Any] = {}
    for name in draw(st.lists(st.sampled_from(sorted(pools)), max_size=3, unique=True)):
        values = draw(st.lists(st.sampled_from(pools[name]), min_size=1, max_size=2, unique=True))
        filters[name] = values[0] if len(values) == 1 else values
    if draw(st.booleans()):
        filters["within_days"] = draw(st.sampled_from((0.5, 1, 3, 30, 40)))
    return {"events": filters, "op": draw(st.sampled_from(("eq", "ne", "gt", "gte", "lt", "lte"))),
            "value": draw(st.integers(0, 3))}


def rules() -> st.SearchStrategy[dict[str, Any]]:
    """Valid rules: leaves nested in ``all``/``any``/``not`` up to a few levels."""
    return st.recursive(
        field_condition() | event_condition(),
        lambda children: st.lists(children, min_size=1, max_size=3).map(lambda c: {"all": c})
        | st.lists(children, min_size=1, max_size=3).map(lambda c: {"any": c})
        | children.map(lambda c: {"not": c}),
        max_leaves=6,
    )
