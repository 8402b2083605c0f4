"""The text form of segment rules: it parses to the same model as the JSON form, round-trips through
``to_text``, and names the column of what does not parse or validate."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from segment_cases import CASES, EVENTS, PROFILES, payloads_of, python_members
from segment_strategies import rules

from profile_store.exceptions import InvalidSegmentRule, SegmentSyntaxError
from profile_store.segments import parse_rule, parse_text, to_text

ISSUE_TEXT = ("lifecycle in (fan, advocate) and platforms contains weibo "
              "and events(kind=(comment, mention), brand=acme, sentiment=positive, within_days=30) >= 3")
ISSUE_JSON = {"all": [{"field": "lifecycle", "op": "in", "value": ["fan", "advocate"]},
                      {"field": "platforms", "op": "contains", "value": "weibo"},
                      {"events": {"kind": ["comment", "mention"], "brand": "acme", "sentiment": "positive",
                                  "within_days": 30}, "op": "gte", "value": 3}]}


def test_the_text_form_parses_to_the_model_of_the_json_form() -> None:
    assert parse_text(ISSUE_TEXT) == parse_rule(ISSUE_JSON)
    assert to_text(parse_rule(ISSUE_JSON)) == ISSUE_TEXT


@pytest.mark.parametrize(("text", "json"), [
    ("not lifecycle = fan or influence >= 40.5 and crm.tier exists",
     {"any": [{"not": {"field": "lifecycle", "op": "eq", "value": "fan"}},
              {"all": [{"field": "influence", "op": "gte", "value": 40.5}, {"field": "crm.tier", "op": "exists"}]}]}),
    ("not (crm.tier in ('gold', \"silver\") or crm.ltv < -3) and consent.email = true",
     {"all": [{"not": {"any": [{"field": "crm.tier", "op": "in", "value": ["gold", "silver"]},
                               {"field": "crm.ltv", "op": "lt", "value": -3}]}},
              {"field": "consent.email", "op": "eq", "value": True}]}),
    ("lifecycle not in (fan) and last_seen within_days 7 and first_seen >= 2026-06-01T08:00:00+08:00",
     {"all": [{"field": "lifecycle", "op": "not_in", "value": ["fan"]},
              {"field": "last_seen", "op": "within_days", "value": 7},
              {"field": "first_seen", "op": "gte", "value": "2026-06-01T08:00:00+08:00"}]}),
    ("display_name = 'it\\'s' and display_name exists false and events() = 0",
     {"all": [{"field": "display_name", "op": "eq", "value": "it's"},
              {"field": "display_name", "op": "exists", "value": False}, {"events": {}, "op": "eq", "value": 0}]}),
])
def test_keywords_precedence_lists_and_quoting(text: str, json: dict[str, Any]) -> None:
    assert parse_text(text) == parse_rule(json)


@pytest.mark.parametrize(("rule", "expected"), [pytest.param(r, e, id=name) for name, r, e in CASES])
def test_every_case_round_trips_through_its_text_and_selects_the_same(rule: dict[str, Any], expected: set[str]) -> None:
    text = to_text(parse_rule(rule))
    assert parse_text(text) == parse_rule(rule), text
    assert python_members(PROFILES, payloads_of(PROFILES, EVENTS), parse_text(text)) == expected


@settings(max_examples=300, deadline=None)
@given(rule=rules())
def test_the_text_of_any_rule_parses_back_to_a_rule_of_the_same_text(rule: dict[str, Any]) -> None:
    """Exactly the same model but for an ``all``/``any`` of one condition, written as the condition."""
    text = to_text(parse_rule(rule))
    assert to_text(parse_text(text)) == text


@pytest.mark.parametrize(("text", "column", "problem"), [
    ("lifecycle in fan", 14, "expected '(' opening a list, found 'fan'"),
    ("lifecyle = fan", 1, "unknown field 'lifecyle'"),
    ("influence >= 3 and platforms > 3", 20, "op 'gt' does not apply to field 'platforms'"),
    ("influence >= ", 14, "expected a value, found the end of the rule"),
    ("influence >= high", 1, "field 'influence' with op 'gte' takes a number"),
    ("events(kind=commnt) >= 1", 1, "event kind 'commnt' is not one of"),
    ("(lifecycle = fan", 17, "expected ')'"),
    ("lifecycle = fan or", 19, "expected a field"),
    ("lifecycle = fan $", 17, "unexpected '$'"),
    ("lifecycle = fan lifecycle", 17, "expected 'and', 'or' or the end of the rule"),
    ("x = 'unterminated", 5, "unexpected \"'\""),
    ("crm.tier') or 1=1 -- = x", 9, "unexpected \"'\""),
    ("crm.tier; drop table profiles = x", 9, "unexpected ';'"),
    ("", 1, "expected a field"),
    ("not " * 3000 + "lifecycle = fan", 65, "a rule nests at most 16 deep"),
    ("(" * 3000 + "lifecycle = fan" + ")" * 3000, 17, "a rule nests at most 16 deep"),
])
def test_a_bad_text_names_the_column_of_the_bad_part(text: str, column: int, problem: str) -> None:
    with pytest.raises(SegmentSyntaxError) as refused:
        parse_text(text)
    assert refused.value.column == column
    assert problem in refused.value.problems[0]
    assert isinstance(refused.value, InvalidSegmentRule)
