"""The poll engine against a stand-in of the X API v2 (answers in the shape of developer.x.com/en/docs/x-api/
tweets/search/api-reference/get-tweets-search-recent: ``data``, ``includes.users``, ``meta.next_token``;
429 with ``x-rate-limit-reset``): pages drained, the cursor moved only after the sink, limits honoured,
refusals reported, restarts exact."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from poll_standin import T0, FakeClock, run, scripted
from polled_pages import x_page, x_tweet

from ingest.adapters.x import XConfig
from ingest.polling.cursors import MemoryCursorStore, SqlCursorStore
from ingest.polling.spec import Cursor
from ingest.polling.x import poller
from profile_store.database import make_session_factory
from streams.storage import open_storage

SEARCH = XConfig(name="x-acme", brand="acme", bearer_token="secret-bearer", query="acme", base_url="https://x.test")
IDS = [x_tweet(n)["id"] for n in range(9, 0, -1)]


def three_pages(request: httpx.Request) -> dict[str, object]:
    """Tweets 9..1 in pages of three, newest first; with ``since_id`` only what is newer (nothing)."""
    if request.url.params.get("since_id"):
        return x_page([])
    token = request.url.params.get("next_token")
    return {None: x_page([9, 8, 7], next_token="p2"), "p2": x_page([6, 5, 4], next_token="p3"),
            "p3": x_page([3, 2, 1])}[token]


def test_a_drain_follows_next_token_to_the_end_and_the_next_poll_asks_only_for_newer_tweets() -> None:
    poll = run(poller(SEARCH), three_pages)
    stats = poll.engine.poll_once()
    assert poll.event_ids() == IDS
    assert (stats.requests, stats.pages, stats.events, stats.waits, stats.last_error) == (3, 3, 9, 0, None)
    first = poll.standin.requests[0]
    assert first.url.path == "/2/tweets/search/recent" and first.url.params["query"] == "acme"
    assert first.url.params["expansions"] == "author_id" and "public_metrics" in first.url.params["user.fields"]
    assert first.headers["authorization"] == "Bearer secret-bearer" and "secret" not in str(first.url)
    assert [r.url.params.get("next_token") for r in poll.standin.requests] == [None, "p2", "p3"]
    assert poll.cursors.load("x-acme", "search") == Cursor(watermark=IDS[0])
    poll.engine.poll_once()
    assert poll.standin.requests[-1].url.params["since_id"] == IDS[0] and "next_token" not in poll.standin.requests[-1].url.params
    assert len(poll.event_ids()) == 9


def test_a_429_waits_until_x_rate_limit_reset_and_sends_the_same_request_again() -> None:
    reset = int(T0.timestamp()) + 42
    limited = httpx.Response(429, headers={"x-rate-limit-reset": str(reset), "x-rate-limit-remaining": "0"})
    poll = run(poller(SEARCH), scripted(limited, x_page([2, 1])))
    stats = poll.engine.poll_once()
    assert poll.event_ids() == IDS[-2:]
    assert poll.clock.slept == [42.0] and (stats.waits, stats.requests) == (1, 2)
    assert poll.standin.requests[0].url == poll.standin.requests[1].url


def test_a_500_and_a_timeout_are_retried_with_backoff_then_the_page_arrives() -> None:
    poll = run(poller(SEARCH), scripted(httpx.Response(500), httpx.ReadTimeout("slow"), x_page([1])))
    stats = poll.engine.poll_once()
    assert poll.event_ids() == IDS[-1:] and stats.retries == 2 and stats.requests == 3
    first, second = poll.clock.slept
    assert 0.1 <= first <= 1.0 and 0.2 <= second <= 2.0


def test_retries_are_bounded_and_leave_the_cursor_where_it_was() -> None:
    poll = run(poller(SEARCH), scripted(httpx.Response(503)), max_attempts=3)
    stats = poll.engine.poll_once()
    assert stats.requests == 3 and stats.events == 0 and poll.batches == []
    assert stats.last_error is not None and "HTTP 503" in stats.last_error
    assert poll.cursors.load("x-acme", "search") is None


def test_a_401_is_a_connector_error_not_retried_until_the_cooldown_passes() -> None:
    poll = run(poller(SEARCH), scripted(httpx.Response(401, json={"title": "Unauthorized"}), x_page([1])))
    stats = poll.engine.poll_once()
    assert stats.requests == 1 and stats.events == 0 and poll.clock.slept == []
    assert stats.last_error is not None and "401" in stats.last_error and "secret-bearer" not in stats.last_error
    poll.engine.poll_once()
    assert len(poll.standin.requests) == 1
    poll.clock.now += timedelta(minutes=15)  # the engine's default refused_cooldown
    assert poll.engine.poll_once().events == 1


def test_a_429_asking_for_longer_than_max_wait_ends_the_poll_and_keeps_the_cursor() -> None:
    limited = httpx.Response(429, headers={"retry-after": "7200"})
    poll = run(poller(SEARCH), scripted(limited), max_wait=900)
    stats = poll.engine.poll_once()
    assert poll.clock.slept == [] and stats.last_error is not None and "rate limited for 7200 s" in stats.last_error


def test_the_request_budget_makes_the_engine_wait_for_the_15_minute_window() -> None:
    config = SEARCH.model_copy(update={"requests_per_15min": 2})
    poll = run(poller(config), three_pages)
    stats = poll.engine.poll_once()
    assert poll.event_ids() == IDS and stats.waits == 1 and poll.clock.slept == [900.0]


class Killed(Exception):
    """The process dies inside the sink."""


def test_a_poller_killed_mid_pagination_resumes_at_the_next_page_and_delivers_nothing_twice() -> None:
    store = MemoryCursorStore()
    delivered: list[str] = []

    def dies_on_page_three(batch):
        if batch.events and batch.events[0].event_id == IDS[6]:
            raise Killed
        delivered.extend(event.event_id for event in batch.events)

    first = run(poller(SEARCH), three_pages, cursors=store, sink=dies_on_page_three)
    with pytest.raises(Killed):
        first.engine.poll_once()
    assert delivered == IDS[:6]
    assert store.load("x-acme", "search") == Cursor(page="p3", pending=IDS[0])
    second = run(poller(SEARCH), three_pages, cursors=store)
    second.engine.poll_once()
    assert [r.url.params.get("next_token") for r in second.standin.requests] == ["p3"]
    assert delivered + second.event_ids() == IDS
    assert store.load("x-acme", "search") == Cursor(watermark=IDS[0])


def test_a_poller_killed_between_the_sink_and_the_cursor_fetches_that_page_again_at_least_once() -> None:
    class DiesOnSecondSave(MemoryCursorStore):
        saves = 0

        def save(self, connector, endpoint, cursor):
            self.saves += 1
            if self.saves == 2:
                raise Killed
            super().save(connector, endpoint, cursor)

    store = DiesOnSecondSave()
    first = run(poller(SEARCH), three_pages, cursors=store)
    with pytest.raises(Killed):
        first.engine.poll_once()
    second = run(poller(SEARCH), three_pages, cursors=store)
    second.engine.poll_once()
    assert first.event_ids() + second.event_ids() == IDS[:6] + IDS[3:]


def test_an_unreadable_page_is_handed_over_as_an_invalid_item_and_the_cursor_stays() -> None:
    poll = run(poller(SEARCH), scripted(httpx.Response(200, content=b"<html>maintenance</html>")))
    stats = poll.engine.poll_once()
    (batch,) = poll.batches
    assert batch.events == () and batch.invalid[0].original == b"<html>maintenance</html>"
    assert stats.invalid == 1 and "unreadable page" in (stats.last_error or "")
    assert poll.cursors.load("x-acme", "search") is None


def test_an_endpoint_without_its_config_is_skipped_and_says_why() -> None:
    both = poller(SEARCH.model_copy(update={"user_id": "2244994945"}))
    only_search = poller(SEARCH)
    assert [endpoint.name for endpoint in both.endpoints] == ["search", "mentions"]
    assert [endpoint.name for endpoint in only_search.endpoints] == ["search"]
    assert [(skip.what, skip.reason) for skip in only_search.unavailable] == [
        ("mentions", "no user_id in the connector's config")]
    poll = run(both, scripted(x_page([1])))
    poll.engine.poll_once()
    assert poll.standin.paths() == ["/2/tweets/search/recent", "/2/users/2244994945/mentions"]
    assert "pagination_token" not in poll.standin.requests[1].url.params


def test_the_sql_cursor_store_keeps_cursors_across_restarts(sqlite_url: str) -> None:
    storage = open_storage(sqlite_url, None)
    try:
        store = SqlCursorStore(storage.session_factory, clock=FakeClock())
        first = run(poller(SEARCH), three_pages, cursors=store, sink=None)
        first.engine.poll_once()
        again = SqlCursorStore(make_session_factory(storage.engine), clock=FakeClock())
        assert again.load("x-acme", "search") == Cursor(watermark=IDS[0])
        assert again.load("x-acme", "mentions") is None
    finally:
        storage.close()
