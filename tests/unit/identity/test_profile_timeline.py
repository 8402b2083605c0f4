"""The profile 360's paged timeline and sentiment over time, over a real SQLite store and the embedded
runtime: pages never repeat or skip an event (equal timestamps, newer events arriving between pages), a
merged customer's timeline holds both accounts' events, and sentiment counts only events with text."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import ApiServices, create_app
from enrichment.lexicon import LexiconEnricher
from streams.runtimes.embedded import EmbeddedRuntime
from streams.storage import Storage

AGENT = {"X-API-Key": "agent-key"}
START = datetime(2026, 11, 1, 9, tzinfo=UTC)


def _event(platform: str, author: str, n: int, at: datetime, text: str | None, kind: str = "post") -> bytes:
    return json.dumps({
        "event_id": f"{author}-{n}", "platform": platform, "kind": kind, "occurred_at": at.isoformat(),
        "received_at": at.isoformat(), "author": {"id": author, "handle": author, "followers": 10},
        "text": text, "source": "t",
    }).encode()


@pytest.fixture
def client(storage: Storage, runtime: EmbeddedRuntime) -> TestClient:
    services = ApiServices(session_factory=storage.session_factory, api_keys={"agent-key": "agent"},
                           enricher=LexiconEnricher(), submit_links=runtime.submit_links, runtime_name="embedded")
    return TestClient(create_app(services))


def _customer(client: TestClient, identity: str) -> str:
    (found,) = client.get("/v1/profiles", params={"identity": identity}, headers=AGENT).json()
    return str(found["customer_id"])


def _pages(client: TestClient, customer: str, limit: int, between: Any = None) -> list[list[str]]:
    pages, before = [], None
    while True:
        params = {"limit": limit, **({"before": before} if before else {})}
        response = client.get(f"/v1/profiles/{customer}/timeline", params=params, headers=AGENT)
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append([item["event_id"] for item in page["items"]])
        if between is not None:
            between(len(pages))
        before = page["next"]
        if before is None:
            return pages


def test_pages_cover_every_event_once_newest_first_even_with_equal_times_and_new_arrivals(
    client: TestClient, runtime: EmbeddedRuntime
) -> None:
    same = START + timedelta(hours=5)
    times = [START + timedelta(hours=n) for n in range(4)] + [same, same, same]
    for n, at in enumerate(times):
        runtime.publish(_event("weibo", "ann", n, at, f"第{n}条"))
    runtime.drain()
    customer = _customer(client, "weibo:ann")

    def newer_arrives(page: int) -> None:  # an event newer than all arrives after the first page
        if page == 1:
            runtime.publish(_event("weibo", "ann", 99, START + timedelta(days=2), "新的一条"))
            runtime.drain()

    pages = _pages(client, customer, 2, between=newer_arrives)
    seen = [event_id for page in pages for event_id in page]
    assert seen == ["ann-6", "ann-5", "ann-4", "ann-3", "ann-2", "ann-1", "ann-0"], "equal times by event key"
    assert [len(page) for page in pages] == [2, 2, 2, 1]
    assert _pages(client, customer, 50) == [["ann-99", *seen]]


def test_a_merged_customer_has_both_accounts_events_and_the_merged_away_id_answers_with_them(
    client: TestClient, runtime: EmbeddedRuntime
) -> None:
    for n in range(3):
        runtime.publish(_event("weibo", "bo", n, START + timedelta(hours=2 * n), "还行"))
        runtime.publish(_event("douyin", "bo2", n, START + timedelta(hours=2 * n + 1), "一般"))
    runtime.drain()
    away = _customer(client, "douyin:bo2")
    assert client.post("/v1/identities/links", json={"a": "weibo:bo", "b": "douyin:bo2"},
                       headers=AGENT).status_code == 202
    runtime.drain()
    merged = _customer(client, "weibo:bo")

    (page,) = _pages(client, merged, 50)
    assert page == ["bo2-2", "bo-2", "bo2-1", "bo-1", "bo2-0", "bo-0"]
    assert _pages(client, away, 50) == [page]


def test_sentiment_by_day_counts_only_events_with_text(client: TestClient, runtime: EmbeddedRuntime) -> None:
    runtime.publish(_event("weibo", "cy", 0, START, "太好用了，非常满意，强烈推荐"))
    runtime.publish(_event("weibo", "cy", 1, START + timedelta(hours=1), "质量太差了，垃圾，退货"))
    runtime.publish(_event("weibo", "cy", 2, START + timedelta(hours=2), None, kind="like"))
    runtime.publish(_event("weibo", "cy", 3, START + timedelta(days=1), "差评，客服太差，再也不买了"))
    runtime.publish(_event("weibo", "cy", 4, START + timedelta(days=3), None, kind="like"))
    runtime.drain()
    customer = _customer(client, "weibo:cy")

    days = client.get(f"/v1/profiles/{customer}/sentiment", headers=AGENT).json()

    assert [(d["day"], d["positive"], d["neutral"], d["negative"]) for d in days] == [
        ("2026-11-01", 1, 0, 1), ("2026-11-02", 0, 0, 1)], "likes are no opinion; a day of likes only is absent"
    assert days[1]["mean_score"] < 0, "the second day is one complaint"


def test_a_bad_cursor_or_an_unknown_customer_is_refused(client: TestClient, runtime: EmbeddedRuntime) -> None:
    runtime.publish(_event("weibo", "dd", 0, START, "你好"))
    runtime.drain()
    customer = _customer(client, "weibo:dd")
    for cursor in ("not-a-cursor", "WyJ4Il0", "WzEsMl0"):
        response = client.get(f"/v1/profiles/{customer}/timeline", params={"before": cursor}, headers=AGENT)
        assert response.status_code == 400, cursor
    assert client.get("/v1/profiles/nobody/timeline", headers=AGENT).status_code == 404
    assert client.get("/v1/profiles/nobody/sentiment", headers=AGENT).status_code == 404
    assert client.get(f"/v1/profiles/{customer}/timeline", params={"limit": 0}, headers=AGENT).status_code == 422
