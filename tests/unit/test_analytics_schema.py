"""The ClickHouse migrations on chDB (each test in a database of its own in the session's one chDB path): a
store migrates twice to the same schema, and a store of the old one-table schema is upgraded in place:
engagement loses its "neutral" sentiment, and the rollups are backfilled from the stored events."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from analytics.client import AnalyticsClient, connect
from analytics.rollups import Filters, sentiment_series, share_of_voice
from analytics.schema import MIGRATIONS, MIGRATIONS_TABLE, ROLLUPS, migrate

AT = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def fresh(chdb_storage_dsn: str) -> Iterator[AnalyticsClient]:
    client = connect(chdb_storage_dsn, f"scrm_schema_{uuid.uuid4().hex[:10]}")
    yield client
    client.command(f"DROP DATABASE IF EXISTS {client.database} SYNC")
    client.close()


def _schema(client: AnalyticsClient) -> dict[str, str]:
    _, rows = client.query(
        "SELECT name, create_table_query FROM system.tables WHERE database = {db:String} ORDER BY name",
        parameters={"db": client.database},
    )
    return dict(rows)


def test_a_store_migrates_twice_to_the_same_schema_and_records_each_version_once(fresh):
    first = migrate(fresh)
    schema = _schema(fresh)
    second = migrate(fresh)

    assert first == [m.version for m in MIGRATIONS] and second == []
    assert _schema(fresh) == schema
    _, rows = fresh.query(f"SELECT version, count() FROM {fresh.database}.{MIGRATIONS_TABLE} GROUP BY version")
    assert sorted(rows) == [(m.version, 1) for m in MIGRATIONS]
    assert {"events", "events_current", "identity_customers", "customer_redirects", "profiles",
            *ROLLUPS, *(f"{r}_mv" for r in ROLLUPS), "incident_changes", "incidents", "incidents_mv", "alerts",
            "segment_changes", "connector_health"} <= set(schema)


def test_a_step_interrupted_before_its_record_runs_again_without_harm(fresh):
    migrate(fresh)
    fresh.command(f"DELETE FROM {fresh.database}.{MIGRATIONS_TABLE} WHERE version IN (3, 4, 5)")

    assert migrate(fresh) == [3, 4, 5]
    assert migrate(fresh) == []


def test_an_old_single_table_store_is_upgraded_engagement_loses_its_neutral_and_rollups_are_backfilled(fresh):
    migrate(fresh, MIGRATIONS[:2])  # the schema before migrations: one events table, sentiment never NULL
    columns = ("event_key", "event_id", "customer_id", "platform", "kind", "brand", "occurred_at", "author_id",
               "text", "sentiment_label", "sentiment_score", "ingested_at")
    fresh.insert("events", [
        ("weibo:a/1", "1", "c-a", "weibo", "post", "old-brand", AT, "a", "so bad", "negative", -0.6, AT),
        ("weibo:a/2", "2", "c-a", "weibo", "like", "old-brand", AT, "a", "", "neutral", 0.0, AT),
        ("weibo:b/3", "3", "c-b", "weibo", "follow", "other-brand", AT, "b", "", "neutral", 0.0, AT),
    ], columns)

    assert migrate(fresh) == [m.version for m in MIGRATIONS[2:]]

    _, rows = fresh.query(f"SELECT event_id, sentiment_label, sentiment_score FROM {fresh.database}.events "
                          "ORDER BY event_id")
    assert rows == [("1", "negative", pytest.approx(-0.6)), ("2", None, None), ("3", None, None)]
    series = sentiment_series(fresh, Filters(brand="old-brand"))
    assert [(r["events"], r["negative"], r["neutral"]) for r in series] == [(1, 1, 0)]
    voice = {r["brand"]: (r["events"], r["voiced"]) for r in share_of_voice(fresh, Filters())}
    assert voice == {"old-brand": (2, 1), "other-brand": (1, 0)}
