"""Every analyst query in docs/analytics.md runs through the analyst door on chDB (admitted, and answered
by the engine), over a store with events, merges and profiles in it."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from analytics.analyst import AnalystDoor, AnalystDoorConfig, open_analyst_door
from streams.storage import Storage, open_storage
from streams.unit_of_work import apply_enriched_batch

DOC = Path(__file__).resolve().parents[2] / "docs" / "analytics.md"
QUERIES = re.findall(r"```sql\n(.*?)```", DOC.read_text(), re.S)
T0 = datetime(2031, 4, 6, 9, 0, tzinfo=UTC)  # after every other test's events: the windows end here


@pytest.fixture
def storage(sqlite_url: str, chdb_storage_dsn: str) -> Iterator[Storage]:
    opened = open_storage(sqlite_url, chdb_storage_dsn)
    yield opened
    opened.close()


@pytest.fixture
def door(storage: Storage, chdb_storage_dsn: str, event_factory, enrich) -> Iterator[AnalystDoor]:
    tag = uuid.uuid4().hex[:6]
    events = enrich(*(
        event_factory(platform=platform, author={"id": f"doc-{tag}-{i % 4}", "followers": 100 * i}, brand="acme",
                      kind="like" if i % 5 == 0 else "post", text=None if i % 5 == 0 else text,
                      metrics={"likes": i, "shares": 1, "replies": 0}, at=T0 + timedelta(hours=3 * i))
        for i, (platform, text) in enumerate(
            [("weibo", "terrible quality, broken, refund now")] * 6 + [("douyin", "love it, great service")] * 6
        )
    ))
    apply_enriched_batch(events, session_factory=storage.session_factory, analytics=storage.analytics)
    opened = open_analyst_door(chdb_storage_dsn, AnalystDoorConfig())
    yield opened
    opened.close()


def test_the_doc_holds_twelve_queries():
    assert len(QUERIES) == 12


@pytest.mark.parametrize("number", range(1, len(QUERIES) + 1))
def test_every_documented_query_runs_through_the_door(number, door):
    result = door.prepare(QUERIES[number - 1]).run()  # raises if refused or failed

    if number in (2, 3, 4, 6, 8, 10, 11):  # the seeded events answer these
        assert result.rows, f"query {number} found nothing"
