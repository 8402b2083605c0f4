"""The segment rule DSL (schema version 1): a frozen pydantic model of a rule as JSON.

    {"all": [{"field": "lifecycle", "op": "in", "value": ["fan", "advocate"]},
             {"field": "platforms", "op": "contains", "value": "weibo"},
             {"events": {"kind": ["comment", "mention"], "within_days": 30}, "op": "gte", "value": 3}]}

A node is a combinator (``all``/``any`` of a non-empty list, ``not`` of one node), a field condition
(``field``, ``op``, ``value``) or an event condition (``events`` filters, ``op`` and ``value`` comparing the
number of matching events). Fields and their ops come from ``segments.fields``; every value is type
checked against its field when the rule is built, so a rule that validates always compiles.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeAlias, TypeGuard

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StringConstraints,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from profile_store.exceptions import InvalidSegmentRule
from profile_store.segments.fields import EVENT_FILTERS, OPS, ORDERING, EventFilterName, FieldSpec, field_spec

MAX_CONDITIONS = 200
MAX_DEPTH = 16
MAX_TEXT = 256
MAX_ITEMS = 100
Text = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT)]
Scalar: TypeAlias = StrictBool | StrictInt | StrictFloat | Text
Value: TypeAlias = Scalar | Annotated[tuple[Scalar, ...], Field(max_length=MAX_ITEMS)]
Strings: TypeAlias = Text | Annotated[tuple[Text, ...], Field(min_length=1, max_length=MAX_ITEMS)]
CountOp = Literal["eq", "ne", "gt", "gte", "lt", "lte"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", validate_by_name=True, validate_by_alias=True,
                              serialize_by_alias=True)


class FieldCondition(_Frozen):
    """``field op value`` on one profile field, e.g. ``influence gte 60``. ``exists`` takes no value (or
    ``false``: the field is absent); ``in``/``not_in`` a non-empty list; ``within_days`` a number of days."""

    field: Annotated[str, StringConstraints(max_length=100)]
    op: str
    value: Value | None = None

    @field_validator("value", mode="before")
    @classmethod
    def _json_value(cls, value: Any) -> Any:
        if value is None or _scalar_or_list(value, lambda item: _finite(item) or isinstance(item, bool)):
            return value
        raise ValueError(f"a value is a string (1-{MAX_TEXT} characters), a finite number, true/false or a list of "
                         f"at most {MAX_ITEMS} of them, got {_short(value)}")

    @model_validator(mode="after")
    def _check(self) -> FieldCondition:
        check_field_value(field_spec(self.field), self.op, self.value)
        return self


class EventFilter(_Frozen):
    """Which of a customer's events count: each filter a string or a list (any of them), all filters
    together; ``within_days`` keeps the events of the last N days before the reference time."""

    kind: Strings | None = None
    brand: Strings | None = None
    sentiment: Strings | None = None
    platform: Strings | None = None
    topic: Strings | None = None
    intent: Strings | None = None
    within_days: StrictInt | StrictFloat | None = None

    @field_validator("kind", "brand", "sentiment", "platform", "topic", "intent", mode="before")
    @classmethod
    def _strings(cls, value: Any) -> Any:
        if value is None or (value not in ([], ()) and _scalar_or_list(value, lambda item: False)):
            return value
        raise ValueError(f"an event filter takes a string (1-{MAX_TEXT} characters) or a non-empty list of at most "
                         f"{MAX_ITEMS} of them, got {_short(value)}")

    @model_validator(mode="after")
    def _check(self) -> EventFilter:
        for name, spec in EVENT_FILTERS.items():
            bad = [v for v in self.values_of(name) or () if spec.choices is not None and v not in spec.choices]
            if bad:
                raise ValueError(f"event {name} {bad[0]!r} is not one of {', '.join(sorted(spec.choices or ()))}")
        if self.within_days is not None and not (math.isfinite(self.within_days) and self.within_days > 0):
            raise ValueError(f"within_days must be a positive number of days, got {self.within_days!r}")
        return self

    def values_of(self, name: EventFilterName) -> tuple[str, ...] | None:
        """The values filter ``name`` accepts (``None``: not filtered)."""
        value: str | tuple[str, ...] | None = getattr(self, name)
        return (value,) if isinstance(value, str) else value


class EventCondition(_Frozen):
    """``count(events matching events) op value``, e.g. at least 3 positive comments in 30 days."""

    events: EventFilter
    op: CountOp
    value: Annotated[StrictInt, Field(ge=0)]


class AllOf(_Frozen):
    """Every one of the conditions holds."""

    all: tuple[Node, ...]

    @field_validator("all")
    @classmethod
    def _not_empty(cls, value: tuple[Node, ...]) -> tuple[Node, ...]:
        if not value:
            raise ValueError("'all' needs at least one condition")
        return value


class AnyOf(_Frozen):
    """At least one of the conditions holds."""

    any: tuple[Node, ...]

    @field_validator("any")
    @classmethod
    def _not_empty(cls, value: tuple[Node, ...]) -> tuple[Node, ...]:
        if not value:
            raise ValueError("'any' needs at least one condition")
        return value


class NotOf(_Frozen):
    """The condition does not hold (a condition on a missing value is false, so its ``not`` holds)."""

    not_: Node = Field(alias="not")


_TAGS = {"all": "all-of", "any": "any-of", "not": "not-of", "field": "field-condition", "events": "event-condition"}
"""The key that tells a node's type, and the union tag of that type (pydantic puts tags in error locations)."""


_TAG_NAMES = frozenset(_TAGS.values())


def _node_tag(value: Any) -> str | None:
    if isinstance(value, Mapping):
        return next((tag for key, tag in _TAGS.items() if key in value), None)
    keys: dict[type, str] = {AllOf: "all", AnyOf: "any", NotOf: "not", FieldCondition: "field", EventCondition: "events"}
    key = keys.get(type(value))
    return _TAGS[key] if key else None


Node: TypeAlias = Annotated[
    Annotated[AllOf, Tag("all-of")] | Annotated[AnyOf, Tag("any-of")] | Annotated[NotOf, Tag("not-of")]
    | Annotated[FieldCondition, Tag("field-condition")] | Annotated[EventCondition, Tag("event-condition")],
    Discriminator(_node_tag, custom_error_type="unknown_node",
                  custom_error_message="a condition needs one of the keys 'all', 'any', 'not', 'field', 'events'"),
]
for _model in (AllOf, AnyOf, NotOf):
    _model.model_rebuild()


class SegmentRule(_Frozen):
    """A whole rule, versioned. Its JSON is the root node with an optional ``schema_version`` beside the
    node's keys (``{"schema_version": 1, "all": [...]}``); at most ``MAX_CONDITIONS`` nodes, nested at most
    ``MAX_DEPTH`` deep."""

    schema_version: Literal[1] = 1
    root: Node

    @model_validator(mode="wrap")
    @classmethod
    def _from_json(cls, data: Any, handler: Any) -> SegmentRule:
        if isinstance(data, Mapping) and "root" not in data:
            data = {"schema_version": data.get("schema_version", 1),
                    "root": {k: v for k, v in data.items() if k != "schema_version"}}
        rule: SegmentRule = handler(data)
        count, depth = _size(rule.root)
        if count > MAX_CONDITIONS:
            raise ValueError(f"a rule holds at most {MAX_CONDITIONS} conditions, this one {count}")
        if depth > MAX_DEPTH:
            raise ValueError(f"a rule nests at most {MAX_DEPTH} deep, this one {depth}")
        return rule

    def to_json(self) -> dict[str, Any]:
        """The rule as JSON: ``parse_rule(rule.to_json()) == rule``."""
        return {"schema_version": self.schema_version, **self.root.model_dump(mode="json", exclude_none=True)}


def parse_rule(source: str | bytes | Mapping[str, Any]) -> SegmentRule:
    """A rule from its JSON (text or already decoded). Pure. Raises ``InvalidSegmentRule`` naming every bad
    part, e.g. ``all[1]: op 'gt' does not apply to field 'platforms'``."""
    try:
        if isinstance(source, Mapping):
            return SegmentRule.model_validate(source)
        return SegmentRule.model_validate_json(source)
    except ValidationError as exc:
        raise InvalidSegmentRule(tuple(describe_error(error) for error in exc.errors())) from None


def check_field_value(spec: FieldSpec, op: str, value: Value | None) -> None:
    """Whether ``op value`` applies to the field: raises ``ValueError`` naming the op or value that does not."""
    if op not in OPS:
        raise ValueError(f"unknown op {op!r} (ops: {', '.join(OPS)})")
    if op not in spec.ops:
        raise ValueError(f"op {op!r} does not apply to field {spec.name!r} (it takes: {', '.join(spec.ops)})")
    if op == "exists":
        if value is not None and not isinstance(value, bool):
            raise ValueError(f"op 'exists' on field {spec.name!r} takes no value or true/false, got {value!r}")
        return
    if op == "within_days":
        if not (_finite(value) and value > 0):
            raise ValueError(f"op 'within_days' on field {spec.name!r} takes a positive number of days, got {value!r}")
        return
    if op in ("in", "not_in"):
        if not isinstance(value, tuple) or not value:
            raise ValueError(f"op {op!r} on field {spec.name!r} takes a non-empty list, got {value!r}")
        for item in value:
            _check_scalar(spec, op, item)
        if spec.kind == "json" and len({_finite(item) for item in value}) > 1:
            raise ValueError(f"op {op!r} on field {spec.name!r} takes a list of all strings or all numbers")
        return
    if isinstance(value, tuple):
        raise ValueError(f"op {op!r} on field {spec.name!r} takes one value, not a list")
    _check_scalar(spec, op, value)


def _check_scalar(spec: FieldSpec, op: str, value: Scalar | None) -> None:
    kind = spec.kind
    if kind in ("enum", "keys", "text", "list") and isinstance(value, str):
        if spec.choices is not None and value not in spec.choices:
            raise ValueError(f"{value!r} is not a value of field {spec.name!r} (one of: {', '.join(sorted(spec.choices))})")
        return
    if kind == "number" and _finite(value):
        return
    if kind == "flag" and isinstance(value, bool):
        return
    if kind == "date" and isinstance(value, str) and _date_or_none(value) is not None:
        return
    if kind == "json" and _json_scalar_fits(op, value):
        return
    wanted = {"enum": "a string", "keys": "a string", "text": "a string", "list": "a string", "number": "a number",
              "flag": "true or false", "date": "an ISO date or date-time",
              "json": "a number" if op in ORDERING else "a string" if op == "contains" else "a string, number or boolean"}
    raise ValueError(f"field {spec.name!r} with op {op!r} takes {wanted[kind]}, got {value!r}")


def _json_scalar_fits(op: str, value: Scalar | None) -> bool:
    if op in ORDERING:
        return _finite(value)
    if op == "contains" or op in ("in", "not_in"):
        return isinstance(value, str) or (op != "contains" and _finite(value))
    return isinstance(value, str | bool) or _finite(value)


def _scalar_or_list(value: Any, other_scalar: Callable[[Any], bool]) -> bool:
    """Whether ``value`` is a string of 1-``MAX_TEXT`` characters or passes ``other_scalar``, or is a list
    (or tuple) of at most ``MAX_ITEMS`` such values."""
    items = value if isinstance(value, list | tuple) else [value]
    return len(items) <= MAX_ITEMS and all(
        (isinstance(item, str) and 1 <= len(item) <= MAX_TEXT) or other_scalar(item) for item in items)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _finite(value: object) -> TypeGuard[int | float]:
    """Whether ``value`` is a finite number (booleans are not numbers here)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def parse_date(value: str) -> datetime:
    """An ISO date (midnight UTC) or date-time (UTC when it names no offset) as an aware datetime. Raises
    ``ValueError`` for anything else."""
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def _date_or_none(value: str) -> datetime | None:
    try:
        return parse_date(value)
    except ValueError:
        return None


def _size(node: Node, depth: int = 1) -> tuple[int, int]:
    """``(number of nodes, depth)`` of the tree under ``node``."""
    children: tuple[Node, ...] = (
        node.all if isinstance(node, AllOf) else node.any if isinstance(node, AnyOf)
        else (node.not_,) if isinstance(node, NotOf) else ())
    sizes = [_size(child, depth + 1) for child in children]
    return 1 + sum(count for count, _ in sizes), max([depth, *(d for _, d in sizes)])


def describe_error(error: Mapping[str, Any]) -> str:
    """One pydantic error as ``where: what`` (``all[1].events``), without pydantic's union tags."""
    where = ""
    for part in error["loc"]:
        if part in _TAG_NAMES or part == "root":
            continue
        where += f"[{part}]" if isinstance(part, int) else f".{part}" if where else str(part)
    if len(where) > 80:
        where = where[:37] + "..." + where[-40:]
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = f"unknown key {where.rsplit('.', 1)[-1]!r}"
        where = where.rpartition(".")[0]
    return f"{where}: {message}" if where else message
