"""Compiling a segment rule to SQL over the profile store's tables, on SQLite and PostgreSQL.

Every value of the rule reaches the database as a bound parameter; the SQL text holds only table and
column names and JSON paths taken from the whitelist in ``segments.fields`` (JSON paths too are bound).
Each condition is two-valued, never SQL ``NULL``: a condition on a missing value is false, so ``not``
of it is true, as ``segments.evaluate.matches`` decides in Python.

Time windows (``within_days``) count back from ``now``, the caller's reference time (the stream's event
time clock: the newest event time seen), never the wall clock: a replay selects the same customers.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, not_, or_, select

from profile_store.segments.dsl import (
    AllOf,
    AnyOf,
    EventCondition,
    FieldCondition,
    Node,
    NotOf,
    Scalar,
    SegmentRule,
    parse_date,
)
from profile_store.segments.fields import COMPARE, EVENT_FILTERS, FieldSpec, field_spec
from profile_store.tables import IdentityRow, ProfileEventRow, ProfileRow
from sqlkit import JsonKind, json_array_has, json_object_has_key, json_present, json_value

PROFILES = ProfileRow.__table__
EVENTS = ProfileEventRow.__table__
IDENTITIES = IdentityRow.__table__

def compile_rule(rule: SegmentRule, *, now: datetime, dialect: str) -> Select[tuple[str]]:
    """``SELECT profiles.customer_id FROM profiles WHERE <rule>`` for ``dialect`` (``"sqlite"`` or
    ``"postgresql"``: ``session.get_bind().dialect.name``). Pure: builds, never executes. Raises
    ``ValueError`` for a naive ``now``."""
    return select(PROFILES.c.customer_id).where(rule_condition(rule, now=now, dialect=dialect))


def rule_condition(rule: SegmentRule, *, now: datetime, dialect: str) -> ColumnElement[bool]:
    """The rule as a boolean expression over the ``profiles`` table (to combine into other queries), with
    event conditions as correlated subqueries counting ``profile_events`` through ``identities``. Pure.
    Raises ``ValueError`` for a naive ``now``."""
    if now.tzinfo is None:
        raise ValueError("the reference time of a segment rule must be timezone-aware")
    return _Compiler(now.astimezone(UTC), dialect).node(rule.root)


class _Compiler:
    def __init__(self, now: datetime, dialect: str) -> None:
        self.now = now
        self.dialect = dialect

    def node(self, node: Node) -> ColumnElement[bool]:
        if isinstance(node, AllOf):
            return and_(*(self.node(child) for child in node.all))
        if isinstance(node, AnyOf):
            return or_(*(self.node(child) for child in node.any))
        if isinstance(node, NotOf):
            return not_(self.node(node.not_))
        if isinstance(node, FieldCondition):
            return self.field(field_spec(node.field), node.op, node.value)
        return self.events(node)

    def field(self, spec: FieldSpec, op: str, value: Scalar | tuple[Scalar, ...] | None) -> ColumnElement[bool]:
        if op == "exists":
            present = self.present(spec)
            return present if value is not False else not_(present)
        if op == "contains":
            assert isinstance(value, str)
            return self.contains(spec, value)
        if op == "within_days":
            assert isinstance(value, int | float)
            column = self.date_column(spec)
            return and_(column >= self.now - timedelta(days=value), column <= self.now)
        if spec.kind == "date":
            assert isinstance(value, str)
            return COMPARE[op](self.date_column(spec), parse_date(value).astimezone(UTC))
        sample = value[0] if isinstance(value, tuple) else value
        expression = self.value(spec, _json_kind(sample))
        if op == "in":
            compared = expression.in_(list(value))  # type: ignore[arg-type]
        elif op == "not_in":
            compared = expression.not_in(list(value))  # type: ignore[arg-type]
        else:
            compared = COMPARE[op](expression, value)
        return and_(expression.is_not(None), compared)

    def date_column(self, spec: FieldSpec) -> ColumnElement[Any]:
        """The column of a date field (every date field is a column of ``profiles``: see ``fields.FIELDS``)."""
        assert spec.column is not None, f"date field {spec.name!r} has no column"
        return PROFILES.c[spec.column]

    def value(self, spec: FieldSpec, kind: JsonKind) -> ColumnElement[Any]:
        """The field's value (``NULL`` when missing): its column, else the JSON at its path."""
        if spec.column is not None:
            return PROFILES.c[spec.column]
        return json_value(PROFILES.c.data, spec.path, kind, dialect=self.dialect)

    def present(self, spec: FieldSpec) -> ColumnElement[bool]:
        if spec.column is not None:
            return PROFILES.c[spec.column].is_not(None)
        return json_present(PROFILES.c.data, spec.path, dialect=self.dialect)

    def contains(self, spec: FieldSpec, item: str) -> ColumnElement[bool]:
        if spec.kind == "keys":
            return json_object_has_key(PROFILES.c.data, spec.path, item, dialect=self.dialect)
        if spec.kind == "text":
            text = self.value(spec, "string")
            position = func.strpos(text, item) if self.dialect == "postgresql" else func.instr(text, item)
            return and_(text.is_not(None), position > 0)
        return json_array_has(PROFILES.c.data, spec.path, item, dialect=self.dialect)

    def events(self, condition: EventCondition) -> ColumnElement[bool]:
        """``(SELECT count(*) FROM profile_events JOIN identities ... WHERE filters) op value``."""
        wanted = condition.events
        filters: list[ColumnElement[bool]] = [IDENTITIES.c.customer_id == PROFILES.c.customer_id]
        for name, spec in EVENT_FILTERS.items():
            values = wanted.values_of(name)
            if values is None:
                continue
            if spec.array:
                filters.append(or_(*(json_array_has(EVENTS.c.data, spec.path, v, dialect=self.dialect) for v in values)))
            else:
                label = json_value(EVENTS.c.data, spec.path, "string", dialect=self.dialect)
                filters.append(and_(label.is_not(None), label.in_(list(values))))
        if wanted.within_days is not None:
            since = self.now - timedelta(days=wanted.within_days)
            filters.append(and_(EVENTS.c.occurred_at >= since, EVENTS.c.occurred_at <= self.now))
        count = (
            select(func.count())
            .select_from(EVENTS.join(IDENTITIES, IDENTITIES.c.identity_key == EVENTS.c.identity_key))
            .where(*filters)
            .correlate(PROFILES)
            .scalar_subquery()
        )
        return COMPARE[condition.op](count, condition.value)  # type: ignore[no-any-return]


def _json_kind(value: Scalar | None) -> JsonKind:
    """The JSON type a value compares with: numbers with numbers, strings with strings, booleans with
    booleans (a JSON ``true`` never equals ``1``)."""
    if isinstance(value, bool):
        return "boolean"
    return "string" if isinstance(value, str) else "number"

