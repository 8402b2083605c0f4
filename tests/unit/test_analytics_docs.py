"""Every analyst query in docs/analytics.md runs through the analyst door on chDB (admitted, and answered
by the engine), over a store of its own with events, merges, profiles, incidents (acknowledged, resolved),
alerts, segment changes and connector health in it."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alerts.contracts import Alert, Incident
from alerts.incidents import acknowledge, resolve
from alerts.repository import change_incident, record_signals, save_incidents
from analytics.analyst import AnalystDoor, AnalystDoorConfig, open_analyst_door
from analytics.client import connect
from analytics.schema import migrate
from ingest.polling.health import PollHealth, save_health
from profile_store.segments import parse_text
from profile_store.segments.store import create_segment
from streams.jobs.analytics_sync import sync_analytics
from streams.storage import Storage, open_storage
from streams.unit_of_work import apply_enriched_batch

DOC = Path(__file__).resolve().parents[2] / "docs" / "analytics.md"
TEXT = DOC.read_text()
QUERIES = re.findall(r"```sql\n(.*?)```", TEXT, re.S)
QUESTIONS = dict(re.findall(r"^\*\*(\d+)\. [^`]*?```sql\n(.*?)```", TEXT, re.S | re.M))  # number -> its query
NAMED = {**{f"question {n}": sql for n, sql in QUESTIONS.items()},
         **{f"other {i}": sql for i, sql in enumerate(q for q in QUERIES if q not in QUESTIONS.values())}}
T0 = datetime(2031, 4, 6, 9, 0, tzinfo=UTC)
ANSWERED = {f"question {n}" for n in (2, 3, 4, 6, 8, 9, 10, 11)} | {"other 0"}  # other 0: connector health


@pytest.fixture
def storage(sqlite_url: str, chdb_storage_dsn: str) -> Iterator[Storage]:
    base = open_storage(sqlite_url, None)
    client = connect(chdb_storage_dsn, f"scrm_docs_{uuid.uuid4().hex[:10]}")
    migrate(client)
    yield Storage(engine=base.engine, session_factory=base.session_factory, analytics=client)
    client.command(f"DROP DATABASE IF EXISTS {client.database} SYNC")
    base.close()
    client.close()


def _seed_operations(storage: Storage) -> None:
    now = datetime.now(UTC)
    incidents = [Incident(incident_id=f"doc-inc-{n}", dedup_key=f"negative_spike:acme:{n}", rule="negative_spike",
                          kind="crisis", severity=3 + n % 2, title="Negative spike", brand="acme", platforms=("weibo",),
                          first_seen=T0, last_seen=T0, opened_at=now, updated_at=now) for n in range(3)]
    with storage.session_factory.begin() as session:
        save_incidents([(i, "opened") for i in incidents], session=session)
        record_signals([Alert(alert_id=f"doc-a{n}", rule="negative_spike", kind="crisis", severity=3, title="t",
                              dedup_key=f"negative_spike:acme:{n}", event_id=f"e{n}", platform="weibo",
                              occurred_at=T0, incident_id=f"doc-inc-{n}") for n in range(3)], session=session)
        create_segment("weibo-people", parse_text("platforms contains weibo"), by="t", at=T0, session=session)
        save_health(PollHealth(connector="x-main", platform="x", rounds=3, events=40, errors=1), T0, session=session)
    for n, minutes in ((0, 5), (1, 30)):
        with storage.session_factory.begin() as session:
            change_incident(f"doc-inc-{n}", lambda i, m=minutes: acknowledge(i, by="ann", now=now + timedelta(minutes=m)),
                            session=session)
    with storage.session_factory.begin() as session:
        change_incident("doc-inc-0", lambda i: resolve(i, by="ann", now=now + timedelta(hours=1)), session=session)


@pytest.fixture
def door(storage: Storage, chdb_storage_dsn: str, event_factory, enrich) -> Iterator[AnalystDoor]:
    tag = uuid.uuid4().hex[:6]
    _seed_operations(storage)
    events = enrich(*(
        event_factory(platform=platform, author={"id": f"doc-{tag}-{i % 4}", "followers": 100 * i}, brand="acme",
                      kind="like" if i % 5 == 0 else "post", text=None if i % 5 == 0 else text,
                      metrics={"likes": i, "shares": 1, "replies": 0}, at=T0 + timedelta(hours=3 * i))
        for i, (platform, text) in enumerate(
            [("weibo", "terrible quality, broken, refund now")] * 6 + [("douyin", "love it, great service")] * 6
        )
    ))
    apply_enriched_batch(events, session_factory=storage.session_factory, analytics=storage.analytics)
    assert storage.analytics is not None
    sync_analytics(storage.session_factory, storage.analytics)
    opened = open_analyst_door(chdb_storage_dsn, AnalystDoorConfig(), database=storage.analytics.database)
    yield opened
    opened.close()


def test_the_doc_asks_twelve_questions_each_with_its_query():
    assert list(QUESTIONS) == [str(n) for n in range(1, 13)]
    assert len(NAMED) == len(QUERIES) == 13  # the twelve, and connector health beside the sync


@pytest.mark.parametrize("name", sorted(NAMED))
def test_every_documented_query_runs_through_the_door(name, door):
    result = door.prepare(NAMED[name]).run()  # raises if refused or failed

    if name in ANSWERED:
        assert result.rows, f"{name} found nothing"


def test_the_incident_and_segment_questions_answer_what_was_seeded(door):
    response = door.prepare(QUESTIONS["6"]).run()
    rows = {(r[0], r[1]): r for r in response.rows}
    assert {key: row[2:4] for key, row in rows.items()} == {("acme", 3): [2, 1], ("acme", 4): [1, 1]}
    growth = door.prepare(QUESTIONS["9"]).run().rows
    assert [row[0] for row in growth] == ["weibo-people"] and growth[0][-1] == 4  # the four weibo authors
