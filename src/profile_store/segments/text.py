"""The short text form of a segment rule, compiling to the same model as the JSON form:

    lifecycle in (fan, advocate) and platforms contains weibo
      and events(kind=(comment, mention), brand=acme, within_days=30) >= 3

Grammar (keywords lower case; ``not`` binds tighter than ``and``, ``and`` tighter than ``or``)::

    rule      := any
    any       := all ("or" all)*
    all       := unary ("and" unary)*
    unary     := "not" unary | "(" any ")" | condition
    condition := "events" "(" [filter ("," filter)*] ")" compare INTEGER
               | FIELD compare value | FIELD ["not"] "in" list | FIELD "not_in" list
               | FIELD "contains" value | FIELD "within_days" NUMBER | FIELD "exists" [true | false]
    compare   := "=" | "!=" | ">" | ">=" | "<" | "<=" | eq | ne | gt | gte | lt | lte
    filter    := NAME "=" (value | list)
    list      := "(" value ("," value)* ")"
    value     := 'quoted' | "quoted" | true | false | NUMBER | WORD   (a WORD is a string: fan, weibo, 2026-11-01)

Errors are ``SegmentSyntaxError`` with the 1-based column of the bad part; a condition that parses but does
not validate (unknown field, wrong op or value) is reported at the column where the condition starts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from profile_store.exceptions import SegmentSyntaxError
from profile_store.segments.dsl import (
    MAX_DEPTH,
    AllOf,
    AnyOf,
    EventCondition,
    FieldCondition,
    Node,
    NotOf,
    Scalar,
    SegmentRule,
    describe_error,
)

_TOKEN = re.compile(r"""\s*(?:(?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|(?P<symbol>>=|<=|!=|==|[=<>(),])
                        |(?P<word>-?[\w][\w.:+\-]*))""", re.VERBOSE)
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")
_COMPARE = {"=": "eq", "==": "eq", "!=": "ne", ">": "gt", ">=": "gte", "<": "lt", "<=": "lte",
            "eq": "eq", "ne": "ne", "gt": "gt", "gte": "gte", "lt": "lt", "lte": "lte"}
_SYMBOL_OF = {"eq": "=", "ne": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_KEYWORDS = frozenset({"and", "or", "not", "in", "not_in", "contains", "exists", "within_days", "events", "true",
                       "false", *_COMPARE})
_BARE = re.compile(r"[^\W\d][\w.:+\-]*")


@dataclass(frozen=True)
class _Token:
    kind: str  # "string", "symbol", "word" or "end"
    text: str
    column: int


def parse_text(source: str) -> SegmentRule:
    """A rule from its text form. Pure. Raises ``SegmentSyntaxError`` (an ``InvalidSegmentRule``) naming
    the bad part and its column."""
    parser = _Parser(_tokens(source))
    node = parser.any()
    parser.expect_end()
    try:
        return SegmentRule(root=node)
    except ValidationError as exc:
        raise SegmentSyntaxError(describe_error(exc.errors()[0]), 1) from None


def to_text(rule: SegmentRule) -> str:
    """The text form of a rule: ``parse_text(to_text(rule)) == rule``, but for an ``all``/``any`` of one
    condition, which the text writes as that condition. Pure."""
    return _render(rule.root, top=True)


def _tokens(source: str) -> list[_Token]:
    tokens, at = [], 0
    while source[at:].strip():
        found = _TOKEN.match(source, at)
        if found is None or found.lastgroup is None:
            column = at + len(source[at:]) - len(source[at:].lstrip()) + 1
            raise SegmentSyntaxError(f"unexpected {source[column - 1]!r}", column)
        tokens.append(_Token(found.lastgroup, found.group(found.lastgroup), found.start(found.lastgroup) + 1))
        at = found.end()
    return [*tokens, _Token("end", "", len(source) + 1)]


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.at = 0
        self.depth = 0

    @property
    def next(self) -> _Token:
        return self.tokens[self.at]

    def take(self) -> _Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def accept(self, *texts: str) -> bool:
        if self.next.kind in ("symbol", "word") and self.next.text in texts:
            self.at += 1
            return True
        return False

    def expect(self, text: str, what: str) -> None:
        if not self.accept(text):
            self.fail(f"expected {what}")

    def expect_end(self) -> None:
        if self.next.kind != "end":
            self.fail("expected 'and', 'or' or the end of the rule")

    def fail(self, message: str) -> None:
        token = self.next
        found = "the end of the rule" if token.kind == "end" else repr(token.text)
        raise SegmentSyntaxError(f"{message}, found {found}", token.column)

    def any(self) -> Node:
        nodes = [self.all()]
        while self.accept("or"):
            nodes.append(self.all())
        return nodes[0] if len(nodes) == 1 else AnyOf(any=tuple(nodes))

    def all(self) -> Node:
        nodes = [self.unary()]
        while self.accept("and"):
            nodes.append(self.unary())
        return nodes[0] if len(nodes) == 1 else AllOf(all=tuple(nodes))

    def unary(self) -> Node:
        if self.next.text not in ("not", "("):
            return self.condition()
        if self.depth == MAX_DEPTH:
            self.fail(f"a rule nests at most {MAX_DEPTH} deep")
        self.depth += 1
        if self.accept("not"):
            node: Node = NotOf.model_validate({"not": self.unary()})
        else:
            self.take()
            node = self.any()
            self.expect(")", "')'")
        self.depth -= 1
        return node

    def condition(self) -> Node:
        start = self.next
        if start.kind != "word" or (start.text in _KEYWORDS and start.text != "events"):
            self.fail("expected a field, 'events(...)', 'not' or '('")
        self.take()
        if start.text == "events" and self.next.text == "(":
            return self.events(start)
        data: dict[str, Any] = {"field": start.text}
        if self.accept("exists"):
            data.update(op="exists", value=self.next.text == "true" if self.next.text in ("true", "false") else None)
            if data["value"] is not None:
                self.take()
        elif self.accept("in", "not_in"):
            data.update(op="in" if self.tokens[self.at - 1].text == "in" else "not_in", value=self.list())
        elif self.accept("not"):
            self.expect("in", "'in' after 'not'")
            data.update(op="not_in", value=self.list())
        elif self.accept("contains", "within_days"):
            data.update(op=self.tokens[self.at - 1].text, value=self.value())
        elif self.next.text in _COMPARE and self.next.kind != "string":
            data.update(op=_COMPARE[self.take().text], value=self.value())
        else:
            self.fail(f"expected an op after field {start.text!r}")
        return _build(FieldCondition, data, start)

    def events(self, start: _Token) -> Node:
        self.expect("(", "'('")
        filters: dict[str, Any] = {}
        while not self.accept(")"):
            if filters:
                self.expect(",", "',' or ')'")
            name = self.take()
            if name.kind != "word":
                self.at -= 1
                self.fail("expected an event filter name")
            self.expect("=", f"'=' after {name.text!r}")
            filters[name.text] = self.list() if self.next.text == "(" else self.value()
        if self.next.text not in _COMPARE:
            self.fail("expected a comparison after 'events(...)'")
        op = _COMPARE[self.take().text]
        return _build(EventCondition, {"events": filters, "op": op, "value": self.value()}, start)

    def list(self) -> tuple[Scalar, ...]:
        self.expect("(", "'(' opening a list")
        items = [self.value()]
        while self.accept(","):
            items.append(self.value())
        self.expect(")", "',' or ')'")
        return tuple(items)

    def value(self) -> Scalar:
        token = self.next
        if token.kind == "string":
            self.take()
            return re.sub(r"\\(.)", r"\1", token.text[1:-1])
        if token.kind != "word" or token.text in _KEYWORDS - {"true", "false"}:
            self.fail("expected a value")
        self.take()
        if token.text in ("true", "false"):
            return token.text == "true"
        if _NUMBER.fullmatch(token.text):
            return float(token.text) if any(c in token.text for c in ".eE") else int(token.text)
        return token.text


def _build(model: type[FieldCondition] | type[EventCondition], data: dict[str, Any], start: _Token) -> Node:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise SegmentSyntaxError(describe_error(exc.errors()[0]), start.column) from None


def _render(node: Node, top: bool = False) -> str:
    if isinstance(node, AllOf | AnyOf):
        children = node.all if isinstance(node, AllOf) else node.any
        if len(children) == 1:
            return _render(children[0], top)
        joined = (" and " if isinstance(node, AllOf) else " or ").join(_render(child) for child in children)
        return joined if top else f"({joined})"
    if isinstance(node, NotOf):
        return f"not {_render(node.not_)}"
    if isinstance(node, EventCondition):
        filters = ", ".join(f"{name}={_literal(value)}" for name, value in
                            node.events.model_dump(exclude_none=True).items())
        return f"events({filters}) {_SYMBOL_OF[node.op]} {node.value}"
    if node.op == "exists":
        return f"{node.field} exists" + ("" if node.value is None else f" {_literal(node.value)}")
    operator = _SYMBOL_OF.get(node.op, node.op)
    return f"{node.field} {operator} {_literal(node.value)}"


def _literal(value: Scalar | tuple[Scalar, ...] | list[Scalar] | None) -> str:
    if isinstance(value, tuple | list):
        return "(" + ", ".join(_literal(item) for item in value) + ")"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value)
    if _BARE.fullmatch(text) and text not in _KEYWORDS and not _NUMBER.fullmatch(text):
        return text
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
