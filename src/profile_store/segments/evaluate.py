"""Deciding a segment rule in Python, for one profile and its events: the same answer the compiled SQL
gives for that customer (``segments.compile``), without a database — for live membership as events apply.

A condition on a missing value, or on a value of another JSON type than the rule's, is false. Time
windows count back from the caller's reference time ``now``, never the wall clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from profile_store.contracts import CustomerProfile
from profile_store.segments.dsl import (
    AllOf,
    AnyOf,
    EventCondition,
    EventFilter,
    FieldCondition,
    Node,
    NotOf,
    Scalar,
    SegmentRule,
    parse_date,
)
from profile_store.segments.fields import COMPARE, EVENT_FILTERS, EVENT_TIME_PATH, FieldSpec, field_spec


def matches(
    rule: SegmentRule, profile: CustomerProfile | Mapping[str, Any], events: Iterable[Mapping[str, Any]], now: datetime
) -> bool:
    """Whether the customer is in the segment. ``profile`` is the model or its stored JSON (``profiles.data``,
    which may hold ``crm``/``consent`` the model does not); ``events`` are the customer's stored event
    payloads (``profile_events.data``, as ``repository.events_of_identities`` returns them). Pure. Raises
    ``ValueError`` for a naive ``now``."""
    if now.tzinfo is None:
        raise ValueError("the reference time of a segment rule must be timezone-aware")
    data = profile.model_dump(mode="json") if isinstance(profile, CustomerProfile) else profile
    return _Evaluator(data, list(events), now.astimezone(UTC)).node(rule.root)


class _Evaluator:
    def __init__(self, data: Mapping[str, Any], events: Sequence[Mapping[str, Any]], now: datetime) -> None:
        self.data = data
        self.events = events
        self.now = now

    def node(self, node: Node) -> bool:
        if isinstance(node, AllOf):
            return all(self.node(child) for child in node.all)
        if isinstance(node, AnyOf):
            return any(self.node(child) for child in node.any)
        if isinstance(node, NotOf):
            return not self.node(node.not_)
        if isinstance(node, FieldCondition):
            return self.field(field_spec(node.field), node.op, node.value)
        return self.count(node)

    def field(self, spec: FieldSpec, op: str, value: Scalar | tuple[Scalar, ...] | None) -> bool:
        raw = _at(self.data, spec.path)
        if op == "exists":
            return (raw is not None) is (value is not False)
        if op == "contains":
            return _contains(spec, raw, str(value))
        if spec.kind == "date":
            if not isinstance(raw, str):
                return False
            at = parse_date(raw)
            if op == "within_days":
                assert isinstance(value, int | float)
                return self.now - timedelta(days=value) <= at <= self.now
            assert isinstance(value, str)
            return bool(COMPARE[op](at, parse_date(value)))
        sample = value[0] if isinstance(value, tuple) else value
        if not _same_kind(raw, sample):
            return False
        if op == "in":
            return raw in value  # type: ignore[operator]
        if op == "not_in":
            return raw not in value  # type: ignore[operator]
        return bool(COMPARE[op](raw, value))

    def count(self, condition: EventCondition) -> bool:
        matching = sum(1 for event in self.events if self.counts(condition.events, event))
        return bool(COMPARE[condition.op](matching, condition.value))

    def counts(self, wanted: EventFilter, event: Mapping[str, Any]) -> bool:
        for name, spec in EVENT_FILTERS.items():
            values = wanted.values_of(name)
            if values is None:
                continue
            found = _at(event, spec.path)
            if spec.array:
                items = found if isinstance(found, list) else []
                if not any(isinstance(item, str) and item in values for item in items):
                    return False
            elif not (isinstance(found, str) and found in values):
                return False
        if wanted.within_days is not None:
            at = parse_date(str(_at(event, EVENT_TIME_PATH)))
            return self.now - timedelta(days=wanted.within_days) <= at <= self.now
        return True


def _at(data: Mapping[str, Any], path: Sequence[str]) -> Any:
    """The JSON value at ``path`` (``None`` when missing or JSON ``null``)."""
    node: Any = data
    for key in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


def _contains(spec: FieldSpec, raw: Any, item: str) -> bool:
    if spec.kind == "keys":
        return isinstance(raw, Mapping) and item in raw
    if spec.kind == "text":
        return isinstance(raw, str) and item in raw
    return isinstance(raw, list) and any(isinstance(element, str) and element == item for element in raw)


def _same_kind(raw: Any, sample: Scalar | None) -> bool:
    """Whether the stored value compares with the rule's: both booleans, both numbers or both strings."""
    if isinstance(sample, bool) or isinstance(raw, bool):
        return isinstance(sample, bool) and isinstance(raw, bool)
    if isinstance(sample, str):
        return isinstance(raw, str)
    return isinstance(raw, int | float)
