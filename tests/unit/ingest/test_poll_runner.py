"""The poll runner: each poll connector of a connectors file drained into an intake sink page by page, the
cursor stored only after the sink took the page, health recorded per round (in the platform database),
failures on our side ending only the round, ``stop`` ending waits at once."""

from __future__ import annotations

import random
import threading
from datetime import timedelta

import httpx
from poll_standin import FakeClock, StandIn
from polled_pages import reddit_comment, reddit_listing, x_page

from api.routers.connectors import poll_state
from ingest.connectors import PollConnector, parse_connectors, poll_connectors
from ingest.exceptions import IntakeUnavailable
from ingest.polling.cursors import MemoryCursorStore, SqlCursorStore
from ingest.polling.health import MemoryHealthStore, SqlHealthStore
from ingest.polling.runner import PollRunner

CONNECTORS = """
[connectors.acme-x]
platform = "x"
brand = "acme"
bearer_token = "x-bearer-secret"
query = "acme OR @acme"
base_url = "https://api.x.test"

[connectors.acme-reddit]
platform = "reddit"
brand = "acme"
client_id = "cid"
client_secret = "reddit-secret"
user_agent = "scrm-test/1.0"
subreddits = ["acme"]
base_url = "https://oauth.reddit.test"
auth_url = "https://www.reddit.test"

[connectors.acme-wechat]
platform = "wechat"
brand = "acme"
token = "wechatToken1"
app_id = "wx1234567890abcdef"
"""
X_ID = 1_600_000_000_000_000_000


class ListSink:
    """An intake sink keeping what it accepted; ``fail_next`` accepts raise ``IntakeUnavailable``."""

    def __init__(self) -> None:
        self.records: list = []
        self.fail_next = 0
        self.accepted = threading.Event()

    def accept(self, records) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise IntakeUnavailable("journal unavailable")
        self.records.extend(records)
        self.accepted.set()

    def event_ids(self) -> list[str]:
        return [r.event_id for r in self.records if hasattr(r, "event_id")]


def platform_route(x_pages: list, reddit_pages: list):
    """X and Reddit as documented, answering their pages in order (the last one repeats)."""

    def route(request: httpx.Request):
        if request.url.path == "/api/v1/access_token":
            return {"access_token": "tok", "token_type": "bearer", "expires_in": 3600, "scope": "*"}
        pages = x_pages if request.url.host == "api.x.test" else reddit_pages
        return pages.pop(0) if len(pages) > 1 else pages[0]

    return route


def polled() -> dict[str, PollConnector]:
    return poll_connectors(parse_connectors(CONNECTORS, {}))


def runner_over(standin: StandIn, sink: ListSink, *, clock: FakeClock | None = None, cursors=None,
                health=None, connectors=None) -> PollRunner:
    clock = clock or FakeClock()
    return PollRunner(connectors or polled(), sink=sink, cursors=cursors or MemoryCursorStore(),
                      health=health or MemoryHealthStore(), clock=clock, client_for=lambda _: standin.client(),
                      sleep=clock.sleep, rng=random.Random(3))


def test_the_connectors_file_makes_poll_connectors_of_the_polled_platforms_only():
    connectors = parse_connectors(CONNECTORS, {})
    assert sorted(poll_connectors(connectors)) == ["acme-reddit", "acme-x"]
    assert connectors["acme-x"].kind == "poll" and connectors["acme-wechat"].kind == "webhook"
    assert "x-bearer-secret" not in repr(connectors)


def test_run_once_drains_every_connector_into_the_sink_and_reports_each_round():
    standin = StandIn(platform_route(
        [x_page([9, 8], next_token="t2"), x_page([7])],
        [reddit_listing([reddit_comment(3), reddit_comment(2)], after="t1_k00002"), reddit_listing([reddit_comment(1)])],
    ))
    sink, cursors = ListSink(), MemoryCursorStore()
    rounds = runner_over(standin, sink, cursors=cursors).run_once()
    assert sink.event_ids() == ["t1_k00003", "t1_k00002", "t1_k00001", str(X_ID + 9), str(X_ID + 8), str(X_ID + 7)]
    x = rounds["acme-x"]
    assert (x.stats.pages, x.stats.events, x.error) == (2, 3, None)
    assert x.health.events == 3 and x.health.rounds == 1 and x.health.last_round_events == 3
    assert x.health.unavailable == ("mentions: no user_id in the connector's config",)
    assert rounds["acme-reddit"].stats.requests == 3  # the token, then two pages
    assert cursors.load("acme-x", "search").watermark == str(X_ID + 9)


def test_an_unreadable_item_is_dead_lettered_with_its_bytes_and_the_rest_of_the_page_goes_on():
    page = x_page([5, 4])
    del page["data"][1]["author_id"]
    sink = ListSink()
    rounds = runner_over(StandIn(platform_route([page], [reddit_listing([])])), sink).run_once()
    letters = [r for r in sink.records if not hasattr(r, "event_id")]
    assert sink.event_ids() == [str(X_ID + 5)]
    assert len(letters) == 1 and letters[0].stage == "poll" and letters[0].source_topic == "poll:acme-x"
    assert str(X_ID + 4).encode() in letters[0].original and "author_id" in letters[0].error
    assert rounds["acme-x"].health.dead_letters == 1


def test_a_round_the_intake_cannot_take_keeps_its_cursor_and_the_next_round_fetches_the_page_again():
    standin = StandIn(platform_route([x_page([3, 2])], [reddit_listing([])]))
    sink, cursors, health = ListSink(), MemoryCursorStore(), MemoryHealthStore()
    connectors = {"acme-x": polled()["acme-x"]}
    sink.fail_next = 1
    first = runner_over(standin, sink, cursors=cursors, health=health, connectors=connectors).run_once()["acme-x"]
    assert first.error == "round failed on our side: IntakeUnavailable" and sink.event_ids() == []
    assert cursors.load("acme-x", "search") is None and health.records["acme-x"].errors == 1
    second = runner_over(standin, sink, cursors=cursors, health=health, connectors=connectors).run_once()["acme-x"]
    assert second.error is None and sink.event_ids() == [str(X_ID + 3), str(X_ID + 2)]
    assert health.records["acme-x"].rounds == 2 and health.records["acme-x"].events == 2


def test_refused_credentials_end_the_round_with_the_reason_and_the_connector_shows_refused():
    clock = FakeClock()
    refused = httpx.Response(401, json={"title": "Unauthorized", "type": "about:blank", "status": 401,
                                        "detail": "Unauthorized"})
    sink = ListSink()
    rounds = runner_over(StandIn(platform_route([refused], [reddit_listing([])])), sink, clock=clock).run_once()
    x = rounds["acme-x"]
    assert x.error is not None and "401" in x.error and "x-bearer-secret" not in x.error
    assert x.health.refused_until is not None and poll_state(x.health, clock.now) == "refused"
    assert poll_state(rounds["acme-reddit"].health, clock.now) == "live"
    assert poll_state(x.health, clock.now + timedelta(hours=1)) == "failing"  # cooled down, still failing


def test_health_adds_up_across_runners_in_the_platform_database(storage):
    clock = FakeClock()
    stores = {"cursors": SqlCursorStore(storage.session_factory, clock=clock),
              "health": SqlHealthStore(storage.session_factory, clock=clock)}
    connectors = {"acme-x": polled()["acme-x"]}
    runner_over(StandIn(platform_route([x_page([2])], [])), ListSink(), clock=clock, connectors=connectors,
                **stores).run_once()
    runner_over(StandIn(platform_route([x_page([4, 3])], [])), ListSink(), clock=clock, connectors=connectors,
                **stores).run_once()
    record = stores["health"].load()["acme-x"]
    assert (record.rounds, record.events, record.pages) == (2, 3, 2)
    assert stores["cursors"].load("acme-x", "search").watermark == str(X_ID + 4)


def test_run_polls_on_the_interval_until_stopped_and_a_stop_ends_a_rate_limit_wait_at_once():
    """The second round of X gets a 429 asking for ten minutes: setting ``stop`` ends that wait, and
    ``run`` returns with the first round's events delivered."""
    limited = threading.Event()

    def route(request: httpx.Request):
        if request.url.path == "/api/v1/access_token":
            return {"access_token": "tok", "token_type": "bearer", "expires_in": 3600}
        if request.url.host != "api.x.test":
            return reddit_listing([])
        if "since_id" not in request.url.params:
            return x_page([1])
        limited.set()
        return httpx.Response(429, headers={"retry-after": "600"})

    connectors = parse_connectors(CONNECTORS.replace('base_url = "https://api.x.test"',
                                                     'base_url = "https://api.x.test"\ninterval_seconds = 0.01'), {})
    sink, stop = ListSink(), threading.Event()
    runner = PollRunner(poll_connectors(connectors), sink=sink, cursors=MemoryCursorStore(),
                        health=MemoryHealthStore(), clock=FakeClock(), client_for=lambda _: StandIn(route).client())
    thread = threading.Thread(target=runner.run, args=(stop,))
    thread.start()
    assert limited.wait(30), "the second round never asked X again"
    stop.set()
    thread.join(30)
    assert not thread.is_alive()
    assert sink.event_ids() == [str(X_ID + 1)]
    assert runner.health()["acme-x"].rounds == 1


def test_an_adapter_failing_on_an_unforeseen_answer_dead_letters_the_page_and_the_next_round_goes_on(monkeypatch):
    from ingest.adapters import x as x_adapter

    real = x_adapter.events_from_page
    calls = {"n": 0}

    def flaky(page, config, received_at):
        calls["n"] += 1
        if calls["n"] == 1:
            raise KeyError("an answer nobody foresaw")
        return real(page, config, received_at)

    monkeypatch.setattr(x_adapter, "events_from_page", flaky)
    standin = StandIn(platform_route([x_page([2, 1])], [reddit_listing([])]))
    sink, cursors = ListSink(), MemoryCursorStore()
    connectors = {"acme-x": polled()["acme-x"]}
    first = runner_over(standin, sink, cursors=cursors, connectors=connectors).run_once()["acme-x"]
    letters = [r for r in sink.records if not hasattr(r, "event_id")]
    assert first.error is not None and "KeyError" in first.error and sink.event_ids() == []
    assert len(letters) == 1 and b'"result_count"' in letters[0].original and "KeyError" in letters[0].error
    assert cursors.load("acme-x", "search") is None
    runner_over(standin, sink, cursors=cursors, connectors=connectors).run_once()
    assert sink.event_ids() == [str(X_ID + 2), str(X_ID + 1)]


def test_a_bug_on_our_side_ends_the_round_not_the_runner():
    class Broken(ListSink):
        def accept(self, records) -> None:
            raise RuntimeError("a bug")

    standin = StandIn(platform_route([x_page([1])], [reddit_listing([reddit_comment(1)])]))
    rounds = runner_over(standin, Broken()).run_once()
    assert {r.error for r in rounds.values()} == {"round failed on our side: RuntimeError"}
