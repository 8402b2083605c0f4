"""The whitelist of what a segment rule may filter on: every profile field, where it lives, which ops
apply to it; and where an event condition finds its filters in a stored event.

A profile field is read from ``profiles.data`` (the profile's JSON) at ``path``; where a column of
``profiles`` mirrors that path, SQL reads the column instead (indexed, typed). ``crm.<attribute>`` and
``consent.<channel>`` are open families: any identifier after the dot names ``data.crm.<attribute>`` or
``data.consent.<channel>``, which rules may filter on before the profile holds them.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, get_args

from ingest.contracts import EventKind, Platform
from profile_store.contracts import Lifecycle

FieldKind = Literal["enum", "number", "date", "text", "keys", "list", "flag", "json"]
"""How a field's values compare: ``enum`` one of fixed strings; ``number``; ``date`` a timestamp;
``text`` a free string; ``keys`` the keys of a JSON object (a set: platforms, brands); ``list`` a JSON
array of strings; ``flag`` a boolean; ``json`` whatever a CRM import or consent record puts there."""

Op = Literal["eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "contains", "exists", "within_days"]
OPS: tuple[Op, ...] = get_args(Op)
ORDERING: frozenset[Op] = frozenset({"gt", "gte", "lt", "lte"})

COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq, "ne": operator.ne, "gt": operator.gt, "gte": operator.ge, "lt": operator.lt, "lte": operator.le,
}
"""The comparison of each comparing op: the same callables build SQL (``segments.compile``) and decide in
Python (``segments.evaluate``)."""

OPS_OF_KIND: dict[FieldKind, tuple[Op, ...]] = {
    "enum": ("eq", "ne", "in", "not_in"),
    "number": ("eq", "ne", "gt", "gte", "lt", "lte"),
    "date": ("gt", "gte", "lt", "lte", "within_days"),
    "text": ("eq", "ne", "in", "not_in", "contains", "exists"),
    "keys": ("contains",),
    "list": ("contains",),
    "flag": ("eq", "ne"),
    "json": ("eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "contains", "exists"),
}

SentimentLabel = Literal["negative", "neutral", "positive"]
"""The labels of ``enrichment.contracts.SentimentLabel`` (profile_store does not import enrichment)."""


@dataclass(frozen=True)
class FieldSpec:
    """One filterable field: its ``kind``, its JSON ``path`` in ``profiles.data``, the ``profiles`` column
    mirroring that path (``None``: SQL reads the JSON) and, for ``enum``/``keys`` fields, the values allowed
    (``None``: any string)."""

    name: str
    kind: FieldKind
    path: tuple[str, ...]
    column: str | None = None
    choices: frozenset[str] | None = None

    @property
    def ops(self) -> tuple[Op, ...]:
        return OPS_OF_KIND[self.kind]


_PLATFORMS = frozenset(p.value for p in Platform)
_KINDS = frozenset(k.value for k in EventKind)

FIELDS: dict[str, FieldSpec] = {spec.name: spec for spec in (
    FieldSpec("lifecycle", "enum", ("lifecycle",), "lifecycle", frozenset(get_args(Lifecycle))),
    FieldSpec("influence", "number", ("influence",), "influence"),
    FieldSpec("churn_risk", "number", ("churn_risk",), "churn_risk"),
    FieldSpec("sentiment", "number", ("sentiment", "ewma"), "sentiment_ewma"),
    FieldSpec("sentiment.positive", "number", ("sentiment", "positive")),
    FieldSpec("sentiment.neutral", "number", ("sentiment", "neutral")),
    FieldSpec("sentiment.negative", "number", ("sentiment", "negative")),
    FieldSpec("event_count", "number", ("event_count",), "event_count"),
    FieldSpec("active_days", "number", ("active_days",)),
    FieldSpec("followers", "number", ("followers",)),
    FieldSpec("engagement_received", "number", ("engagement_received",)),
    FieldSpec("brand_shares", "number", ("brand_shares",)),
    FieldSpec("first_seen", "date", ("first_seen",), "first_seen"),
    FieldSpec("last_seen", "date", ("last_seen",), "last_seen"),
    FieldSpec("display_name", "text", ("display_name",), "display_name"),
    FieldSpec("crm_id", "text", ("crm_id",)),
    FieldSpec("verified", "flag", ("verified",)),
    FieldSpec("platforms", "keys", ("counts_by_platform",), choices=_PLATFORMS),
    FieldSpec("kinds", "keys", ("counts_by_kind",), choices=_KINDS),
    FieldSpec("brands", "keys", ("brands",)),
    FieldSpec("topics", "keys", ("topics",)),
    FieldSpec("intents", "keys", ("intents",)),
    FieldSpec("identities", "list", ("identities",)),
)}

FAMILIES: dict[str, str] = {"crm": "crm", "consent": "consent"}
"""Open field families: ``<prefix>.<identifier>`` reads ``data.<key>.<identifier>`` as a ``json`` field."""

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


def field_spec(name: str) -> FieldSpec:
    """The spec of the field called ``name``. Raises ``ValueError`` ("unknown field ...") for a name that is
    neither in ``FIELDS`` nor ``crm.``/``consent.`` followed by an identifier (letters, digits,
    underscores; at most 64)."""
    spec = FIELDS.get(name)
    if spec is not None:
        return spec
    prefix, dot, rest = name.partition(".")
    if dot and prefix in FAMILIES and _IDENTIFIER.fullmatch(rest):
        return FieldSpec(name, "json", (FAMILIES[prefix], rest))
    raise ValueError(f"unknown field {name!r}")


EventFilterName = Literal["kind", "brand", "sentiment", "platform", "topic", "intent"]


@dataclass(frozen=True)
class EventFilterSpec:
    """Where an event condition's filter reads a stored event (``profile_events.data``, an enriched event
    as ``streams.contracts.EnrichedEvent`` serialises it): a string at ``path``, or (``array``) a JSON array
    of strings there that must hold the value; ``choices`` the values allowed (``None``: any)."""

    path: tuple[str, ...]
    array: bool = False
    choices: frozenset[str] | None = None


EVENT_FILTERS: dict[EventFilterName, EventFilterSpec] = {
    "kind": EventFilterSpec(("event", "kind"), choices=_KINDS),
    "brand": EventFilterSpec(("event", "brand")),
    "platform": EventFilterSpec(("event", "platform"), choices=_PLATFORMS),
    "sentiment": EventFilterSpec(("enrichment", "sentiment", "label"), choices=frozenset(get_args(SentimentLabel))),
    "topic": EventFilterSpec(("enrichment", "topics"), array=True),
    "intent": EventFilterSpec(("enrichment", "intents"), array=True),
}
EVENT_TIME_PATH = ("event", "occurred_at")
"""Where the Python evaluator reads an event's time (SQL reads ``profile_events.occurred_at``)."""
