"""Analytics over chDB (the session's single chDB path): rows written by the analytics step are what the
query helpers report, and replays collapse. (The analyst door: test_analyst_guard/_door/_route.)"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from analytics.queries import breakdown, count_events
from analytics.rollups import Filters, sentiment_over_time
from analytics.schema import MIGRATIONS_TABLE, migrate
from analytics.writer import write_events
from streams.steps.analytics import event_row
from streams.storage import Storage, open_storage

AT = datetime(2026, 8, 3, 6, 0, tzinfo=UTC)


@pytest.fixture
def storage(sqlite_url: str, chdb_storage_dsn: str) -> Iterator[Storage]:
    opened = open_storage(sqlite_url, chdb_storage_dsn)
    yield opened
    opened.close()


@pytest.fixture
def client(storage):
    assert storage.analytics is not None
    return storage.analytics


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def test_event_row_flattens_an_enriched_event(enriched_factory):
    enriched = enriched_factory(
        event_id="row-1",
        platform="zhihu",
        brand=None,
        label="negative",
        score=-0.5,
        confidence=0.8,
        topics=("price",),
        at=AT,
        author={"followers": None},
        metrics={"likes": 4, "shares": 5, "replies": 6},
    )
    row = event_row(enriched, ingested_at=AT)
    assert row.event_key == "zhihu:u-1/row-1"
    assert row.brand == ""
    assert row.author_followers == 0
    assert (row.likes, row.shares, row.replies) == (4, 5, 6)
    assert (row.sentiment_label, row.sentiment_score, row.topics) == ("negative", -0.5, ["price"])
    assert row.model_name == enriched.enrichment.model.name


def test_written_rows_are_counted_and_broken_down(client, enriched_factory):
    brand = "brand-analytics-breakdown"
    events = [
        enriched_factory(
            event_id=f"an-bd-{i}", brand=brand, platform=platform, label=label, score=score, at=AT
        )
        for i, (platform, label, score) in enumerate(
            [("weibo", "negative", -0.8), ("weibo", "positive", 0.6), ("douyin", "negative", -0.4)]
        )
    ]
    before = count_events(client)

    write_events(client, [event_row(e, ingested_at=AT) for e in events])

    assert count_events(client) - before == 3
    by_brand = {row["key"]: row for row in breakdown(client, by="brand", since=AT - timedelta(minutes=1))}
    assert by_brand[brand]["count"] == 3
    assert by_brand[brand]["negative"] == 2
    assert by_brand[brand]["mean_sentiment"] == pytest.approx((-0.8 + 0.6 - 0.4) / 3, abs=1e-3)


def test_rewriting_the_same_events_does_not_double_count(client, enriched_factory):
    brand = "brand-analytics-replay"
    events = [enriched_factory(event_id=f"an-rp-{i}", brand=brand, at=AT) for i in range(4)]
    before = count_events(client)

    write_events(client, [event_row(e, ingested_at=AT) for e in events])
    write_events(client, [event_row(e, ingested_at=AT + timedelta(seconds=5)) for e in events])

    assert count_events(client) - before == 4
    by_brand = {
        row["key"]: row["count"] for row in breakdown(client, by="brand", since=AT - timedelta(days=1))
    }
    assert by_brand[brand] == 4


def test_rows_keyed_the_old_way_are_rekeyed_once_so_a_replay_does_not_double_count(client, enriched_factory):
    """Rows written while the event key was ``<platform>:<event_id>`` are found under the new key after the
    store is opened again: replaying their events (as ``scrm run`` on the same file does) adds nothing."""
    brand = "brand-analytics-rekey"
    events = [enriched_factory(event_id=f"an-rk-{i}", brand=brand, author={"id": f"rk/{i}"}, at=AT) for i in range(3)]
    other_platform = enriched_factory(event_id="an-rk-0", brand=brand, platform="zhihu", at=AT)
    write_events(client, [replace(event_row(e, ingested_at=AT), event_key=e.event.post_key)  # the old key
                          for e in [*events, other_platform]])
    client.command(f"DELETE FROM {client.database}.{MIGRATIONS_TABLE} WHERE version = 2")  # as before it ran

    migrate(client)
    migrate(client)
    write_events(client, [event_row(e, ingested_at=AT + timedelta(seconds=5)) for e in events])

    _, rows = client.query(f"SELECT event_key FROM {client.database}.events FINAL WHERE brand = {{b:String}} "
                           "ORDER BY event_key", parameters={"b": brand})
    assert [key for (key,) in rows] == [*(f"weibo:rk%2F{i}/an-rk-{i}" for i in range(3)), "zhihu:u-1/an-rk-0"]


def test_sentiment_over_time_buckets_by_event_time_for_one_brand(client, enriched_factory):
    brand = "brand-analytics-series"
    specs = [(0, "negative"), (20, "negative"), (50, "positive"), (95, "negative")]
    write_events(
        client,
        [
            event_row(
                enriched_factory(
                    event_id=f"an-ts-{i}", brand=brand, label=label, at=AT + timedelta(minutes=m)
                ),
                ingested_at=datetime.now(UTC),
            )
            for i, (m, label) in enumerate(specs)
        ],
    )
    write_events(
        client,
        [event_row(enriched_factory(event_id="an-ts-other", brand="brand-other", at=AT), ingested_at=AT)],
    )

    series = sentiment_over_time(client, Filters(since=AT, brand=brand), bucket_minutes=60)

    assert {(_utc(r["bucket"]), r["sentiment"], r["count"]) for r in series} == {
        (AT, "negative", 2),
        (AT, "positive", 1),
        (AT + timedelta(hours=1), "negative", 1),
    }


def test_breakdown_refuses_an_unknown_dimension(client):
    with pytest.raises(ValueError, match="cannot break down"):
        breakdown(client, by="text; DROP TABLE events", since=AT)
