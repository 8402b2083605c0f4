"""The ``/v1/analytics/*`` rollup routes over chDB: sentiment over time, breakdowns, share of voice, top
topics and influencers, each filtered by brand, platform, topic, language and since/until; filters travel
as bound parameters (an injection attempt is a value that matches nothing)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from analytics.writer import write_events
from api.app import install_access
from api.auth import Keyring
from api.routers import analytics
from streams.steps.analytics import event_row
from streams.storage import Storage, open_storage

AT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
READER = "marketer-key"


@pytest.fixture
def storage(sqlite_url: str, chdb_storage_dsn: str) -> Iterator[Storage]:
    opened = open_storage(sqlite_url, chdb_storage_dsn)
    yield opened
    opened.close()


@pytest.fixture
def brands(storage: Storage, enriched_factory) -> tuple[str, str]:
    """Two brands of this test: ``a`` with 3 posts (2 negative, topics price/delivery) and a like, ``b``
    with one positive post on zhihu an hour later."""
    tag = uuid.uuid4().hex[:8]
    a, b = f"ra-{tag}", f"rb-{tag}"
    spec = [
        dict(brand=a, label="negative", score=-0.8, topics=("price",), author={"id": f"{tag}-1", "followers": 900},
             metrics={"likes": 40, "shares": 2, "replies": 3}, language="zh", at=AT),
        dict(brand=a, label="negative", score=-0.6, topics=("price", "delivery"), author={"id": f"{tag}-2"}, language="zh",
             at=AT + timedelta(minutes=20)),
        dict(brand=a, label="positive", score=0.5, topics=("delivery",), author={"id": f"{tag}-2"}, language="en",
             at=AT + timedelta(minutes=40)),
        dict(brand=a, kind="like", text=None, author={"id": f"{tag}-3"}, at=AT + timedelta(minutes=50)),
        dict(brand=b, label="positive", score=0.9, topics=("price",), platform="zhihu", author={"id": f"{tag}-4"},
             language="en", at=AT + timedelta(hours=1, minutes=5)),
    ]
    assert storage.analytics is not None
    languages = [s.pop("language", "en") for s in spec]  # as the language model would have found
    events = [enriched_factory(event_id=f"route-{tag}-{i}", customer_id=f"c-{s['author']['id']}", **s)  # type: ignore[index]
              for i, s in enumerate(spec)]
    write_events(storage.analytics, [replace(event_row(e, ingested_at=AT), language=language)
                                     for e, language in zip(events, languages, strict=True)])
    return a, b


@pytest.fixture
def api(storage: Storage) -> TestClient:
    app = FastAPI()
    app.include_router(analytics.router)
    install_access(app, Keyring({READER: "marketer"}))
    app.state.analytics = storage.analytics
    app.state.analyst_door = None
    return TestClient(app)


def _get(api: TestClient, path: str, **params: Any) -> Any:
    response = api.get(f"/v1/analytics/{path}", params={"since": AT.isoformat(), **params},
                       headers={"X-API-Key": READER})
    assert response.status_code == 200, response.text
    return response.json()


def test_sentiment_series_counts_only_events_with_text_and_filters_by_every_dimension(api, brands):
    a, _ = brands
    hourly = _get(api, "sentiment/series", brand=a)
    assert [(r["events"], r["negative"], r["positive"], r["neutral"]) for r in hourly] == [(3, 2, 1, 0)]
    assert hourly[0]["mean_score"] == pytest.approx((-0.8 - 0.6 + 0.5) / 3, abs=1e-4)
    assert [r["events"] for r in _get(api, "sentiment/series", brand=a, bucket_minutes=30)] == [2, 1]
    assert [r["events"] for r in _get(api, "sentiment/series", brand=a, topic="delivery")] == [2]
    assert [r["events"] for r in _get(api, "sentiment/series", brand=a, language="zh", platform="weibo")] == [2]
    assert _get(api, "sentiment/series", brand=a, until=(AT + timedelta(minutes=30)).isoformat(),
                bucket_minutes=30) == [{**_get(api, "sentiment/series", brand=a, bucket_minutes=30)[0]}]
    assert {(r["sentiment"], r["count"]) for r in _get(api, "sentiment", brand=a)} == {("negative", 2), ("positive", 1)}


def test_breakdowns_split_sentiment_by_topic_or_language(api, brands):
    a, _ = brands
    topics = {r["key"]: (r["events"], r["negative_share"]) for r in _get(api, "sentiment/breakdown", brand=a, by="topic")}
    assert topics == {"price": (2, 1.0), "delivery": (2, 0.5)}
    assert {r["key"]: r["events"] for r in _get(api, "sentiment/breakdown", brand=a, by="language")} == {"zh": 2, "en": 1}


def test_share_of_voice_divides_every_event_between_the_brands(api, brands):
    a, b = brands
    voice = {r["brand"]: r for r in _get(api, "share-of-voice", until=(AT + timedelta(hours=2)).isoformat())
             if r["brand"] in brands}
    assert (voice[a]["events"], voice[a]["voiced"], voice[b]["events"]) == (4, 3, 1)
    per_hour = [(r["bucket"][:13], r["brand"], r["events"]) for r in _get(api, "share-of-voice", bucket_hours=1)
                if r["brand"] in brands]
    assert per_hour == [(AT.isoformat()[:13], a, 4), ((AT + timedelta(hours=1)).isoformat()[:13], b, 1)]
    priced = {r["brand"]: r["events"] for r in _get(api, "share-of-voice", topic="price") if r["brand"] in brands}
    assert priced == {a: 2, b: 1}


def test_top_topics_and_influencers_rank_what_the_events_say(api, brands):
    a, _ = brands
    assert [(t["topic"], t["events"], t["negative"]) for t in _get(api, "topics", brand=a)] == \
        [("delivery", 2, 1), ("price", 2, 2)]
    board = _get(api, "influencers", brand=a)
    assert [(r["events"], r["engagement"]) for r in board][0] == (1, 45)
    assert [r["events"] for r in _get(api, "influencers", brand=a, order="events")] == [2, 1, 1]
    assert len(_get(api, "influencers", brand=a, topic="price")) == 2


def test_a_filter_is_a_bound_value_never_sql(api, brands):
    assert _get(api, "sentiment/series", brand="x' OR 1=1 --") == []
    assert _get(api, "topics", platform="weibo'); DROP TABLE events; --") == []
    assert _get(api, "sentiment/series", brand=brands[0])  # still there


def test_a_window_without_since_ends_at_the_newest_event_and_unknown_orders_are_refused(api, brands):
    response = api.get("/v1/analytics/influencers", params={"order": "text"}, headers={"X-API-Key": READER})
    assert response.status_code == 422
    assert api.get("/v1/analytics/topics", headers={}).status_code in (401, 403)
