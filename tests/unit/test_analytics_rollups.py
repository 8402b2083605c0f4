"""Rollups on chDB equal the raw aggregation of the same events, engagement carries no sentiment, and the
writer is idempotent on retries: a batch written again (a killed worker re-processing it), or overlapping
stored events, changes no count, raw or rolled up. Tests keep to brands of their own (the chDB path is
shared by the session)."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from analytics.client import AnalyticsClient, connect
from analytics.rollups import (
    Filters,
    influencers,
    sentiment_breakdown,
    sentiment_series,
    share_of_voice,
    top_topics,
)
from analytics.schema import migrate
from analytics.schema.migrations import MIGRATIONS
from analytics.writer import EventRow, write_events
from streams.steps.analytics import event_row
from streams.storage import Storage, open_storage

AT = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
PLATFORMS = ("weibo", "douyin", "xiaohongshu")
TOPICS = ("price", "delivery", "quality", "service")
LABELS = {"negative": -0.7, "neutral": 0.0, "positive": 0.6}


@pytest.fixture
def storage(sqlite_url: str, chdb_storage_dsn: str) -> Iterator[Storage]:
    opened = open_storage(sqlite_url, chdb_storage_dsn)
    yield opened
    opened.close()


@pytest.fixture
def client(storage: Storage) -> AnalyticsClient:
    assert storage.analytics is not None
    return storage.analytics


def _rows(brands: tuple[str, ...], count: int, seed: int) -> list[EventRow]:
    """Varied events over three hours: posts with text, sentiment and topics; likes and follows without."""
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        voiced = rng.random() < 0.7
        label = rng.choice(list(LABELS)) if voiced else None
        author = f"{brands[0]}-author-{rng.randrange(12)}"
        rows.append(EventRow(
            event_key=f"weibo:{author}/{seed}-{i}", event_id=f"{seed}-{i}", customer_id=f"cust-{author}",
            platform=rng.choice(PLATFORMS), kind="post" if voiced else rng.choice(("like", "follow")),
            brand=rng.choice(brands), occurred_at=AT + timedelta(minutes=rng.randrange(180), seconds=rng.randrange(60)),
            author_id=author, author_followers=rng.randrange(10_000), text="some words" if voiced else "",
            language=rng.choice(("zh", "en")), sentiment_label=label,
            sentiment_score=LABELS[label] + rng.random() / 10 if label else None,
            sentiment_confidence=0.9 if label else None,
            topics=rng.sample(TOPICS, rng.randrange(3)) if voiced else [], intents=[], spam=0.0,
            likes=rng.randrange(50), shares=rng.randrange(5), replies=rng.randrange(9), model_name="m",
            model_version="1", ingested_at=AT,
        ))
    return rows


def _raw(client: AnalyticsClient, sql: str, brands: tuple[str, ...]) -> list[tuple[Any, ...]]:
    _, rows = client.query(sql.replace("{db}", client.database), parameters={"brands": list(brands)})
    return sorted(rows)


def _brands() -> tuple[str, ...]:
    tag = uuid.uuid4().hex[:8]
    return (f"rb-{tag}-a", f"rb-{tag}-b")


def test_every_rollup_equals_the_raw_aggregation_of_the_events(client):
    brands = _brands()
    rows = _rows(brands, 400, seed=1)
    for start in range(0, len(rows), 97):  # several batches, as the apply lane writes them
        write_events(client, rows[start:start + 97])

    label = "coalesce(sentiment_label, '')"
    for table, bucket in (("sentiment_minute", "toStartOfMinute"), ("sentiment_hour", "toStartOfHour")):
        rolled = _raw(client, "SELECT bucket, brand, platform, topic, language, sum(events), "
                      "sum(positive), sum(neutral), sum(negative), round(sum(score_sum), 4) "
                      f"FROM {{db}}.{table} WHERE brand IN {{brands:Array(String)}} "
                      "GROUP BY bucket, brand, platform, topic, language", brands)
        raw = _raw(client, f"SELECT {bucket}(occurred_at) AS b, brand, platform, topic, language, count(), "
                   f"countIf({label} = 'positive'), countIf({label} = 'neutral'), countIf({label} = 'negative'), "
                   "round(sum(toFloat64(sentiment_score)), 4) FROM {db}.events_current "
                   "ARRAY JOIN arrayConcat([''], topics) AS topic WHERE brand IN {brands:Array(String)} "
                   "AND sentiment_label IS NOT NULL GROUP BY b, brand, platform, topic, language", brands)
        assert rolled == raw and rolled, table
    assert _raw(client, "SELECT bucket, brand, platform, sum(events), sum(voiced), "
                "sum(negative), sum(reach), sum(engagement) FROM {db}.brand_voice_hour "
                "WHERE brand IN {brands:Array(String)} GROUP BY bucket, brand, platform", brands) == \
        _raw(client, "SELECT toStartOfHour(occurred_at) AS b, brand, platform, count(), "
             f"countIf(sentiment_label IS NOT NULL), countIf({label} = 'negative'), sum(author_followers), "
             "sum(likes + shares + replies) FROM {db}.events_current WHERE brand IN {brands:Array(String)} "
             "GROUP BY b, brand, platform", brands)
    assert _raw(client, "SELECT bucket, brand, platform, language, topic, sum(events), sum(negative), "
                "sum(engagement) FROM {db}.topics_hour WHERE brand IN {brands:Array(String)} "
                "GROUP BY bucket, brand, platform, language, topic", brands) == \
        _raw(client, "SELECT toStartOfHour(occurred_at) AS b, brand, platform, language, topic, count(), "
             f"countIf({label} = 'negative'), sum(likes + shares + replies) FROM {{db}}.events_current "
             "ARRAY JOIN topics AS topic WHERE brand IN {brands:Array(String)} "
             "GROUP BY b, brand, platform, language, topic", brands)
    assert _raw(client, "SELECT platform, author_id, sum(events), max(followers), sum(engagement) "
                "FROM {db}.influencers_hour WHERE brand IN {brands:Array(String)} AND topic = '' "
                "GROUP BY platform, author_id", brands) == \
        _raw(client, "SELECT platform, author_id, count(), max(author_followers), sum(likes + shares + replies) "
             "FROM {db}.events_current WHERE brand IN {brands:Array(String)} GROUP BY platform, author_id", brands)
    assert _raw(client, "SELECT bucket, platform, brand, kind, language, sum(events), sum(voiced), "
                "sum(negative), round(sum(score_sum), 4) FROM {db}.events_hour "
                "WHERE brand IN {brands:Array(String)} GROUP BY bucket, platform, brand, kind, language", brands) == \
        _raw(client, "SELECT toStartOfHour(occurred_at) AS b, platform, brand, kind, language, count(), "
             f"countIf(sentiment_label IS NOT NULL), countIf({label} = 'negative'), "
             "round(sum(toFloat64(coalesce(sentiment_score, 0))), 4) FROM {db}.events_current "
             "WHERE brand IN {brands:Array(String)} GROUP BY b, platform, brand, kind, language", brands)


def test_the_read_helpers_report_what_the_events_say(client):
    brands = _brands()
    rows = _rows(brands, 300, seed=2)
    write_events(client, rows)
    voiced = [r for r in rows if r.sentiment_label]
    window = Filters(since=AT, until=AT + timedelta(hours=3))

    one = [r for r in voiced if r.brand == brands[0] and r.platform == "weibo" and "price" in r.topics]
    series = sentiment_series(client, Filters(brand=brands[0], platform="weibo", topic="price", since=AT),
                              bucket_minutes=30)
    assert sum(b["events"] for b in series) == len(one)
    assert sum(b["negative"] for b in series) == sum(r.sentiment_label == "negative" for r in one)

    by_language = {r["key"]: r["events"] for r in sentiment_breakdown(client, Filters(brand=brands[1]), by="language")}
    assert by_language == {lang: sum(r.brand == brands[1] and r.language == lang for r in voiced) for lang in ("en", "zh")}

    voice = {r["brand"]: r for r in share_of_voice(client, window) if r["brand"] in brands}
    total = sum(1 for r in rows)
    assert voice[brands[0]]["events"] == sum(r.brand == brands[0] for r in rows)
    assert voice[brands[0]]["events"] + voice[brands[1]]["events"] == total

    topics = {t["topic"]: t["events"] for t in top_topics(client, Filters(brand=brands[0]))}
    assert topics == {t: sum(r.brand == brands[0] and t in r.topics for r in rows) for t in TOPICS if topics.get(t)}

    board = influencers(client, Filters(brand=brands[0]), order="events", limit=3)
    per_author: dict[str, int] = {}
    for r in rows:
        if r.brand == brands[0]:
            per_author[r.customer_id] = per_author.get(r.customer_id, 0) + 1
    assert [b["events"] for b in board] == sorted(per_author.values(), reverse=True)[:3]


def test_engagement_without_text_is_stored_with_no_sentiment(client, enriched_factory):
    brand = _brands()[0]
    like = enriched_factory(event_id="nl-like", brand=brand, kind="like", text=None, label="neutral", at=AT)
    post = enriched_factory(event_id="nl-post", brand=brand, text="awful", label="negative", score=-0.8, at=AT)
    write_events(client, [event_row(e, ingested_at=AT) for e in (like, post)])

    _, rows = client.query(f"SELECT kind, sentiment_label, sentiment_score FROM {client.database}.events_current "
                           "WHERE brand = {b:String} ORDER BY kind", parameters={"b": brand})
    assert rows == [("like", None, None), ("post", "negative", pytest.approx(-0.8))]
    assert [(s["events"], s["neutral"]) for s in sentiment_series(client, Filters(brand=brand))] == [(1, 0)]


def _counts(client: AnalyticsClient, brands: tuple[str, ...]) -> tuple[Any, ...]:
    """Every count a query could see: raw rows (without FINAL), collapsed events, and each rollup."""
    where = "WHERE brand IN {brands:Array(String)}"
    return tuple(
        _raw(client, sql, brands)[0][0] for sql in (
            f"SELECT count() FROM {{db}}.events {where}",
            f"SELECT count() FROM {{db}}.events_current {where}",
            f"SELECT sum(events) FROM {{db}}.sentiment_minute {where} AND topic = ''",
            f"SELECT sum(events) FROM {{db}}.sentiment_hour {where} AND topic = ''",
            f"SELECT sum(events) FROM {{db}}.brand_voice_hour {where}",
            f"SELECT sum(events) FROM {{db}}.topics_hour {where}",
            f"SELECT sum(events) FROM {{db}}.influencers_hour {where} AND topic = ''",
            f"SELECT sum(events) FROM {{db}}.events_hour {where}",
        )
    )


def test_writing_the_same_batch_again_changes_no_count(client):
    brands = _brands()
    rows = _rows(brands, 120, seed=3)

    assert write_events(client, rows) == 120
    before = _counts(client, brands)
    assert write_events(client, [*rows, *rows[:5]]) == 0  # the retry, with duplicates inside the batch
    retried = [EventRow(**{**{f: getattr(r, f) for f in EventRow.__slots__}, "ingested_at": AT + timedelta(minutes=1)})
               for r in rows[40:80]]
    assert write_events(client, retried) == 0  # re-processed later: new ingestion time, same events

    assert _counts(client, brands) == before
    assert before[0] == before[1] == before[4] == before[7] == 120


def test_a_batch_overlapping_stored_events_adds_only_the_new_ones(client):
    brands = _brands()
    rows = _rows(brands, 60, seed=4)
    write_events(client, rows[:40])

    assert write_events(client, rows[20:]) == 20

    assert _counts(client, brands)[:2] == (60, 60)
    assert _counts(client, brands)[4] == 60


def test_a_store_made_before_plain_rollups_is_rebuilt_with_every_event_counted(chdb_storage_dsn):
    old = connect(chdb_storage_dsn, f"scrm_upgrade_{uuid.uuid4().hex[:10]}")
    try:
        assert migrate(old, tuple(m for m in MIGRATIONS if m.version < 16))[-1] == 15
        brands = _brands()
        before, after = _rows(brands, 150, seed=5), _rows(brands, 50, seed=6)
        write_events(old, before)
        assert _raw(old, "SELECT countMerge(events) FROM {db}.sentiment_hour WHERE topic = '' "
                    "AND brand IN {brands:Array(String)}", brands) == [(sum(1 for r in before if r.sentiment_label),)]

        assert migrate(old) == [16, 17]  # 16 rebuilds the rollups from the stored events; 17 came later
        write_events(old, after)  # and fed by the new views

        rows = before + after
        voiced = sum(1 for r in rows if r.sentiment_label)
        topics = sum(len(set(r.topics)) for r in rows)
        assert _counts(old, brands) == (200, 200, voiced, voiced, 200, topics, 200, 200)
    finally:
        old.command(f"DROP DATABASE IF EXISTS {old.database} SYNC")
        old.close()
