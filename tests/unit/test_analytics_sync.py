"""The analytics sync on SQLite + chDB (each test in a ClickHouse database of its own): every incident version,
alert, segment change and connector health snapshot reaches ClickHouse, a repeated or fully overlapping
pass inserts nothing, and the embedded runtime carries the pipeline's and the API's changes there."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alerts.contracts import Alert, Incident
from alerts.incidents import acknowledge, assign, resolve
from alerts.repository import change_incident, record_signals, save_incidents
from analytics.client import AnalyticsClient, connect
from analytics.schema import migrate
from enrichment.lexicon import LexiconEnricher
from ingest.polling.health import PollHealth, save_health
from profile_store.segments import parse_text
from profile_store.segments.store import count_members, create_segment
from streams.config import PipelineConfig
from streams.jobs import analytics_sync
from streams.jobs.analytics_sync import SyncCounts, sync_analytics
from streams.runtimes.embedded import EmbeddedRuntime
from streams.storage import Storage, open_storage
from streams.unit_of_work import apply_enriched_batch

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
NEGATIVE_TEXT = "terrible quality, broken after a day, I want a refund. worst purchase"


@pytest.fixture
def client(chdb_storage_dsn: str) -> Iterator[AnalyticsClient]:
    opened = connect(chdb_storage_dsn, f"scrm_sync_{uuid.uuid4().hex[:10]}")
    migrate(opened)
    yield opened
    opened.command(f"DROP DATABASE IF EXISTS {opened.database} SYNC")
    opened.close()


@pytest.fixture
def sql(sqlite_url: str) -> Iterator[Storage]:
    opened = open_storage(sqlite_url, None)
    yield opened
    opened.close()


def _rows(client: AnalyticsClient, sql: str) -> list[tuple[Any, ...]]:
    return client.query(sql.format(db=client.database))[1]


def _incident(now: datetime) -> Incident:
    return Incident(incident_id="inc-1", dedup_key="negative_spike:acme", rule="negative_spike", kind="crisis",
                    severity=3, title="Negative spike for acme", brand="acme", platforms=("weibo",),
                    first_seen=T0, last_seen=T0, opened_at=now, updated_at=now)


def test_every_incident_version_reaches_clickhouse_and_the_newest_is_the_current_state(sql, client):
    now = datetime.now(UTC)
    with sql.session_factory.begin() as session:
        save_incidents([(_incident(now), "opened")], session=session)
    assert sync_analytics(sql.session_factory, client).incident_versions == 1

    for change in (lambda i: acknowledge(i, by="ann", now=now + timedelta(minutes=2)),
                   lambda i: assign(i, assignee="bob", team="pr", now=now + timedelta(minutes=3)),
                   lambda i: resolve(i, by="bob", now=now + timedelta(minutes=9))):
        with sql.session_factory.begin() as session:
            change_incident("inc-1", change, session=session)
    assert sync_analytics(sql.session_factory, client).incident_versions == 3

    assert _rows(client, "SELECT version, change, state FROM {db}.incident_changes ORDER BY version") == [
        (1, "opened", "open"), (2, "acknowledged", "acknowledged"), (3, "assigned", "acknowledged"),
        (4, "resolved", "resolved")]
    ((state, version, assignee, resolved_by, minutes),) = _rows(
        client, "SELECT state, version, assignee, resolved_by, dateDiff('minute', opened_at, resolved_at) "
        "FROM {db}.incidents FINAL")
    assert (state, version, assignee, resolved_by, minutes) == ("resolved", 4, "bob", "bob", 9)


def test_alerts_reach_clickhouse_with_their_incident(sql, client):
    alerts = [Alert(alert_id=f"a{n}", rule="negative_spike", kind="crisis", severity=3, title="spike",
                    dedup_key="negative_spike:acme", event_id=f"e{n}", platform="weibo", brand="acme",
                    occurred_at=T0 + timedelta(minutes=n), incident_id="inc-1") for n in range(3)]
    with sql.session_factory.begin() as session:
        record_signals(alerts, session=session)

    assert sync_analytics(sql.session_factory, client).alerts == 3
    assert _rows(client, "SELECT incident_id, count(), max(occurred_at) FROM {db}.alerts GROUP BY incident_id") == [
        ("inc-1", 3, (T0 + timedelta(minutes=2)).replace(tzinfo=None))]


def test_segment_growth_is_a_query_over_the_synced_changes(sql, client, event_factory, enrich):
    with sql.session_factory.begin() as session:
        create_segment("weibo-people", parse_text("platforms contains weibo"), by="t", at=T0, session=session)
    for day in range(3):  # one new member on day 0, two on day 1, three on day 2
        events = enrich(*(event_factory(author={"id": f"seg-{day}-{n}"}, at=T0 + timedelta(days=day, minutes=n))
                          for n in range(day + 1)))
        apply_enriched_batch(events, session_factory=sql.session_factory, analytics=None)
        sync_analytics(sql.session_factory, client)

    growth = _rows(client, "SELECT toDate(at) AS day, sum(delta) AS net, sum(net) OVER (ORDER BY day) AS size "
                           "FROM {db}.segment_changes WHERE segment = 'weibo-people' GROUP BY day ORDER BY day")
    with sql.session_factory() as session:
        members = count_members("weibo-people", session=session)
    assert [(net, size) for _, net, size in growth] == [(1, 1), (2, 3), (3, 6)]
    assert growth[-1][2] == members


def test_connector_health_snapshots_give_the_activity_between_them(sql, client):
    first = PollHealth(connector="x-main", platform="x", rounds=1, requests=3, events=5)
    with sql.session_factory.begin() as session:
        save_health(first, T0, session=session)
    sync_analytics(sql.session_factory, client)
    with sql.session_factory.begin() as session:
        save_health(first.model_copy(update={"rounds": 2, "requests": 7, "events": 9, "errors": 1}),
                    T0 + timedelta(minutes=1), session=session)
    assert sync_analytics(sql.session_factory, client).connector_health == 1

    assert _rows(client, "SELECT connector, max(events) - min(events), max(errors), count() "
                         "FROM {db}.connector_health GROUP BY connector") == [("x-main", 4, 1, 2)]


def test_a_repeated_or_fully_overlapping_pass_inserts_nothing(sql, client, monkeypatch):
    now = datetime.now(UTC)
    with sql.session_factory.begin() as session:
        save_incidents([(_incident(now), "opened")], session=session)
        record_signals([Alert(alert_id="a1", rule="r", kind="crisis", severity=2, title="t", dedup_key="k",
                              event_id="e1", platform="weibo", occurred_at=T0)], session=session)
        save_health(PollHealth(connector="x-main", platform="x", rounds=1), T0, session=session)
    first = sync_analytics(sql.session_factory, client)

    assert sync_analytics(sql.session_factory, client) == SyncCounts()
    monkeypatch.setattr(analytics_sync, "LOOKBACK", timedelta(days=3650))  # re-read everything
    assert sync_analytics(sql.session_factory, client, page=1) == SyncCounts()
    assert first == SyncCounts(incident_versions=1, alerts=1, connector_health=1)
    counts = _rows(client, "SELECT (SELECT count() FROM {db}.incident_changes), (SELECT count() FROM {db}.incidents), "
                           "(SELECT count() FROM {db}.alerts), (SELECT count() FROM {db}.connector_health)")
    assert counts == [(1, 1, 1, 1)], "counted once without FINAL"


def test_the_sync_thread_skips_passes_while_inactive_and_makes_a_last_pass_when_stopped(sql, client):
    with sql.session_factory.begin() as session:
        save_incidents([(_incident(datetime.now(UTC)), "opened")], session=session)
    stop = threading.Event()
    asked: list[bool] = []

    def active() -> bool:  # the first tick finds another worker syncing; the second stops this one
        asked.append(True)
        assert _rows(client, "SELECT count() FROM {db}.incident_changes") == [(0,)], "no pass while inactive"
        if len(asked) == 2:
            stop.set()
        return False

    analytics_sync.run_syncs(sql.session_factory, client, stop, every_seconds=0.001, active=active)

    assert len(asked) == 2
    assert _rows(client, "SELECT count() FROM {db}.incident_changes") == [(1,)], "the last pass on the way out"


def test_the_embedded_runtime_carries_pipeline_and_api_changes_to_clickhouse(sql, client, event_factory):
    storage = Storage(engine=sql.engine, session_factory=sql.session_factory, analytics=client)
    runtime = EmbeddedRuntime(config=PipelineConfig(batch_size=4), enricher=LexiconEnricher(), storage=storage)
    crisis = event_factory(author={"id": "ben-sync", "followers": 50_000}, text=NEGATIVE_TEXT, at=T0)
    runtime.publish(json.dumps(crisis).encode())
    runtime.drain()

    ((incident_id, state),) = _rows(client, "SELECT incident_id, state FROM {db}.incidents FINAL")
    assert state == "open"
    assert _rows(client, "SELECT count() FROM {db}.alerts WHERE incident_id = '" + incident_id + "'") == [(1,)]

    with sql.session_factory.begin() as session:  # what POST /v1/alerts/{id}/acknowledge does
        change_incident(incident_id, lambda i: acknowledge(i, by="ann", now=datetime.now(UTC)), session=session)
    runtime.sync_analytics()
    assert _rows(client, "SELECT state, acknowledged_by FROM {db}.incidents FINAL") == [("acknowledged", "ann")]
