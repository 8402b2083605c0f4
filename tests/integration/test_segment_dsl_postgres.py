"""The segment rule DSL on a real PostgreSQL, over the migrated schema: the cases of the SQLite unit tests
(``tests/unit/profile_store/segment_cases.py``, shared) select the same customers here, and compiled SQL
agrees with the Python evaluator on random customers and rules (PostgreSQL reads the JSON as ``jsonb``,
SQLite with ``json_each``/``json_type``: the agreement is what proves the two dialects answer alike)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "profile_store"))  # the shared cases

from segment_cases import (  # noqa: E402
    CASES,
    EVENTS,
    PROFILES,
    REFERENCE_TIME_CASES,
    Event,
    assert_agreement,
    python_members,
    select_members,
    store,
    tables_intact,
)
from segment_strategies import population, rules  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from streams.storage import Storage, open_storage  # noqa: E402

pytestmark = pytest.mark.integration


@pytest.fixture
def storage(fresh_database_url: str) -> Iterator[Storage]:
    opened = open_storage(fresh_database_url, None)
    yield opened
    opened.close()


@pytest.fixture
def stored(storage: Storage) -> dict[str, list[dict[str, Any]]]:
    with storage.session_factory() as session, session.begin():
        return store(session, PROFILES, EVENTS)


def test_every_case_selects_exactly_its_customers_on_postgres(
    storage: Storage, stored: dict[str, list[dict[str, Any]]]
) -> None:
    """All shared cases in one migrated database (one per case would migrate sixty databases)."""
    with storage.session_factory() as session:
        assert session.get_bind().dialect.name == "postgresql"
        outcome = {name: select_members(session, rule) for name, rule, _ in CASES}
        assert tables_intact(session)
    assert outcome == {name: expected for name, _, expected in CASES}
    assert {name: python_members(PROFILES, stored, rule) for name, rule, _ in CASES} == outcome


@pytest.mark.parametrize(("rule", "now", "expected"),
                         [pytest.param(r, n, e, id=name) for name, r, n, e in REFERENCE_TIME_CASES])
def test_time_windows_count_back_from_the_reference_time_on_postgres(
    storage: Storage, stored: dict[str, list[dict[str, Any]]], rule: dict[str, Any], now: datetime, expected: set[str]
) -> None:
    with Session(storage.engine) as session:
        assert select_members(session, rule, now) == expected


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(world=population(), rule_list=st.lists(rules(), min_size=1, max_size=4))
def test_sql_on_postgres_and_python_agree_on_random_customers_and_rules(
    storage: Storage, world: tuple[dict[str, dict[str, Any]], tuple[Event, ...]], rule_list: list[dict[str, Any]]
) -> None:
    """Each example replaces what the (shared) database holds, so the function-scoped fixture is safe."""
    assert_agreement(storage.engine, world, rule_list)


def test_a_saved_segment_is_evaluated_and_re_evaluated_on_postgres(
    storage: Storage, stored: dict[str, list[dict[str, Any]]]
) -> None:
    from datetime import UTC

    from sqlalchemy import update

    from profile_store.segments import parse_text
    from profile_store.segments.store import create_segment, members_page, reevaluate
    from profile_store.tables import ProfileRow

    at = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    rule = parse_text("lifecycle in (fan, advocate) and events(platform=weibo, within_days=400) >= 1")
    with storage.session_factory.begin() as session:
        segment = create_segment("weibo-fans", rule, by="mia@acme.com", at=at, session=session)
        expected = select_members(session, rule.to_json(), now=segment.clock)  # type: ignore[arg-type]
        assert segment.members == len(expected) > 0
        assert {m.customer_id for m in members_page("weibo-fans", session=session)} == expected
        leaving = sorted(expected)[0]
        session.execute(update(ProfileRow).where(ProfileRow.customer_id == leaving).values(lifecycle="detractor"))
        assert reevaluate("weibo-fans", at=at, session=session) == (0, 1)
        assert {m.customer_id for m in members_page("weibo-fans", session=session)} == expected - {leaving}
