"""The segment rule DSL on SQLite: which customers each op, nesting and event condition selects, in SQL
and in Python alike; bad rules refused with the bad part named; values never reach the SQL text; time
windows counted back from the reference time passed in. The same cases run on PostgreSQL in
tests/integration/test_segment_dsl_postgres.py."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from segment_cases import (
    BAD_RULES,
    CASES,
    EVENTS,
    INJECTED_FIELDS,
    INJECTION,
    NOW,
    PROFILES,
    REFERENCE_TIME_CASES,
    Event,
    assert_agreement,
    python_members,
    select_members,
    store,
    tables_intact,
)
from segment_strategies import population, rules
from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from profile_store.database import make_engine
from profile_store.exceptions import InvalidSegmentRule
from profile_store.segments import compile_rule, matches, parse_rule
from profile_store.tables import ProfileBase


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('segments')}/segments.db")
    ProfileBase.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def stored(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """The cases' customers, stored once for the module; each customer's event payloads."""
    with Session(engine) as session, session.begin():
        return store(session, PROFILES, EVENTS)


@pytest.mark.parametrize(("rule", "expected"), [pytest.param(r, e, id=name) for name, r, e in CASES])
def test_a_rule_selects_exactly_its_customers_in_sql_and_in_python(
    engine: Engine, stored: dict[str, list[dict[str, Any]]], rule: dict[str, Any], expected: set[str]
) -> None:
    with Session(engine) as session:
        assert select_members(session, rule) == expected
        assert tables_intact(session)
    assert python_members(PROFILES, stored, rule) == expected


@pytest.mark.parametrize(("rule", "now", "expected"),
                         [pytest.param(r, n, e, id=name) for name, r, n, e in REFERENCE_TIME_CASES])
def test_time_windows_count_back_from_the_reference_time_passed_in(
    engine: Engine, stored: dict[str, list[dict[str, Any]]], rule: dict[str, Any], now: datetime, expected: set[str]
) -> None:
    with Session(engine) as session:
        assert select_members(session, rule, now) == expected
    assert python_members(PROFILES, stored, rule, now) == expected


@pytest.mark.parametrize(("rule", "problem"), [pytest.param(r, p, id=name) for name, r, p in BAD_RULES])
def test_a_bad_rule_is_refused_naming_the_bad_part(rule: Any, problem: str) -> None:
    with pytest.raises(InvalidSegmentRule) as refused:
        parse_rule(rule)
    assert any(problem in line for line in refused.value.problems), refused.value.problems


@pytest.mark.parametrize("field", INJECTED_FIELDS)
def test_a_field_outside_the_whitelist_is_refused(field: str) -> None:
    with pytest.raises(InvalidSegmentRule, match="unknown field"):
        parse_rule({"all": [{"field": field, "op": "eq", "value": "x"}]})


def test_a_rule_nested_thousands_deep_is_refused_not_a_crash() -> None:
    rule: dict[str, Any] = {"field": "lifecycle", "op": "eq", "value": "fan"}
    for _ in range(3000):
        rule = {"not": rule}
    with pytest.raises(InvalidSegmentRule):
        parse_rule(rule)
    with pytest.raises(InvalidSegmentRule, match="recursion limit"):
        parse_rule('{"not": ' * 3000 + '{"field": "lifecycle", "op": "eq", "value": "fan"}' + "}" * 3000)


def test_every_problem_of_a_rule_is_reported_in_order() -> None:
    with pytest.raises(InvalidSegmentRule) as refused:
        parse_rule({"any": [{"field": "lifecyle", "op": "eq", "value": "fan"},
                            {"field": "influence", "op": "gte", "value": "high"}]})
    assert refused.value.problems == (
        "any[0]: unknown field 'lifecyle'", "any[1]: field 'influence' with op 'gte' takes a number, got 'high'")


@pytest.mark.parametrize(("dialect_name", "dialect"), [("sqlite", sqlite.dialect()),
                                                       ("postgresql", postgresql.psycopg.dialect())])
def test_values_travel_as_bound_parameters_never_in_the_sql_text(dialect_name: str, dialect: Any) -> None:
    rule = parse_rule({"any": [
        {"field": "display_name", "op": "eq", "value": INJECTION},
        {"field": "crm.tier", "op": "in", "value": ["x') OR 1=1 --"]},
        {"field": "brands", "op": "contains", "value": "acme\" OR 1=1"},
        {"field": "display_name", "op": "contains", "value": "%_sneaky"},
        {"events": {"brand": "'; DELETE FROM identities; --", "topic": "t0pic"}, "op": "gte", "value": 1}]})
    sql = str(compile_rule(rule, now=NOW, dialect=dialect_name).compile(dialect=dialect))
    for value in (INJECTION, "OR 1=1", "sneaky", "DELETE", "t0pic", "acme", "tier"):
        assert value not in sql


def test_a_json_rule_round_trips_through_its_model() -> None:
    rule = parse_rule({"all": [CASES[-1][1], {"not": {"field": "crm.tier", "op": "exists"}},
                               {"any": [{"field": "last_seen", "op": "within_days", "value": 7}]}]})
    assert parse_rule(rule.to_json()) == rule
    assert rule.to_json()["schema_version"] == 1
    assert parse_rule(rule.model_dump_json()) == rule


def test_a_naive_reference_time_is_refused() -> None:
    rule = parse_rule({"field": "last_seen", "op": "within_days", "value": 7})
    with pytest.raises(ValueError, match="timezone-aware"):
        compile_rule(rule, now=datetime(2026, 11, 30), dialect="sqlite")
    with pytest.raises(ValueError, match="timezone-aware"):
        matches(rule, PROFILES["ann"]["profile"], [], datetime(2026, 11, 30))


def test_matches_takes_the_profile_model_too() -> None:
    rule = parse_rule({"all": [{"field": "platforms", "op": "contains", "value": "weibo"},
                               {"field": "influence", "op": "gte", "value": 50}]})
    assert matches(rule, PROFILES["ann"]["profile"], [], NOW)
    assert not matches(rule, PROFILES["bo"]["profile"], [], NOW)


@pytest.fixture(scope="module")
def blank_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """A database of the agreement test, emptied by each example."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('agreement')}/agreement.db")
    ProfileBase.metadata.create_all(engine)
    yield engine
    engine.dispose()


@settings(max_examples=150, deadline=None)
@given(world=population(), rule_list=st.lists(rules(), min_size=1, max_size=4))
def test_sql_and_python_agree_on_random_customers_and_rules(
    blank_engine: Engine, world: tuple[dict[str, dict[str, Any]], tuple[Event, ...]], rule_list: list[dict[str, Any]]
) -> None:
    assert_agreement(blank_engine, world, rule_list)
