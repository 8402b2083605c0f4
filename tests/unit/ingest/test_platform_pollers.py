"""The Reddit, YouTube and Weibo pollers against stand-ins answering in the shape of their docs:
Reddit (reddit.com/dev/api: ``/api/v1/access_token`` client credentials, listings paged by ``after``),
YouTube (developers.google.com/youtube/v3/docs/commentThreads/list: ``pageToken`` / ``nextPageToken``),
Weibo (open.weibo.com/wiki/2/comments/to_me: ``since_id`` / ``max_id``; error bodies with ``error_code``)."""

from __future__ import annotations

import base64
from datetime import timedelta

import httpx
from poll_standin import T0, FakeClock, run, scripted
from polled_pages import (
    reddit_comment,
    reddit_listing,
    weibo_comments,
    weibo_mentions,
    yt_page,
    yt_thread,
)

from ingest.adapters.reddit import RedditConfig
from ingest.adapters.weibo import WeiboConfig
from ingest.adapters.youtube import YouTubeConfig
from ingest.polling import POLLERS
from ingest.polling.spec import Cursor

REDDIT = RedditConfig(name="reddit-acme", brand="acme", client_id="cid", client_secret="csecret",
                      user_agent="linux:scrm-test:1.0 (by /u/acme)", subreddits=("acme",),
                      base_url="https://oauth.reddit.test", auth_url="https://www.reddit.test")


class RedditStandIn:
    """Comments ``newest..1`` of r/acme in pages of ``size``, newest first; tokens counted."""

    def __init__(self, newest: int, size: int = 3) -> None:
        self.newest, self.size, self.tokens = newest, size, 0

    def __call__(self, request: httpx.Request) -> dict[str, object] | httpx.Response:
        if request.url.path == "/api/v1/access_token":
            self.tokens += 1
            assert request.headers["authorization"] == "Basic " + base64.b64encode(b"cid:csecret").decode()
            assert request.content == b"grant_type=client_credentials"
            return {"access_token": f"tok-{self.tokens}", "token_type": "bearer", "expires_in": 86400, "scope": "*"}
        assert request.headers["user-agent"] == REDDIT.user_agent
        numbers = list(range(self.newest, 0, -1))
        after = request.url.params.get("after")
        start = numbers.index(int(after[4:])) + 1 if after else 0
        chunk = numbers[start:start + self.size]
        more = start + self.size < len(numbers)
        return reddit_listing([reddit_comment(n) for n in chunk], after=f"t1_k{chunk[-1]:05d}" if more else None)


def test_reddit_fetches_one_token_pages_by_after_and_stops_at_what_it_already_polled() -> None:
    standin = RedditStandIn(newest=5)
    poll = run(POLLERS["reddit"].factory(REDDIT), standin)
    poll.engine.poll_once()
    assert poll.event_ids() == [f"t1_k{n:05d}" for n in (5, 4, 3, 2, 1)] and standin.tokens == 1
    assert poll.standin.requests[1].headers["authorization"] == "bearer tok-1"
    assert poll.cursors.load("reddit-acme", "comments:acme") == Cursor(watermark="t1_k00005")
    standin.newest = 8  # three new comments on top
    stats = poll.engine.poll_once()
    assert poll.event_ids()[5:] == ["t1_k00008", "t1_k00007", "t1_k00006"] and standin.tokens == 1
    # 8, 7, 6 on the first page; the second (5, 4, 3) reaches the mark and ends the drain
    assert [r.url.params.get("after") for r in poll.standin.requests[-2:]] == [None, "t1_k00006"]
    assert stats.skipped == 3 and poll.cursors.load("reddit-acme", "comments:acme") == Cursor(watermark="t1_k00008")


def test_reddit_fetches_a_new_token_once_after_a_401() -> None:
    standin = RedditStandIn(newest=2)
    answers = iter([httpx.Response(401)])

    def route(request: httpx.Request) -> object:
        if request.url.path != "/api/v1/access_token" and standin.tokens == 1:
            return next(answers, None) or standin(request)
        return standin(request)

    poll = run(POLLERS["reddit"].factory(REDDIT), route)
    stats = poll.engine.poll_once()
    assert poll.event_ids() == ["t1_k00002", "t1_k00001"] and standin.tokens == 2 and stats.last_error is None


def test_reddit_with_a_wrong_secret_is_refused_at_the_token() -> None:
    poll = run(POLLERS["reddit"].factory(REDDIT), scripted(httpx.Response(401, json={"error": 401})))
    stats = poll.engine.poll_once()
    assert stats.requests == 1 and "401" in (stats.last_error or "") and "csecret" not in (stats.last_error or "")


YOUTUBE = YouTubeConfig(name="yt-acme", api_key="AIza-secret", channel_id="UCacmeacmeacmeacmeacmeac",
                        base_url="https://yt.test")


def test_youtube_pages_by_page_token_and_the_watermark_keeps_the_next_poll_to_new_comments() -> None:
    pages = {None: yt_page([yt_thread("T4", 4), yt_thread("T3", 3)], next_token="n2"),
             "n2": yt_page([yt_thread("T2", 2), yt_thread("T1", 1)])}
    poll = run(POLLERS["youtube"].factory(YOUTUBE), lambda request: pages[request.url.params.get("pageToken")])
    poll.engine.poll_once()
    assert poll.event_ids() == ["T4", "T3", "T2", "T1"]
    first = poll.standin.requests[0]
    assert first.url.params["allThreadsRelatedToChannelId"] == YOUTUBE.channel_id
    assert first.headers["x-goog-api-key"] == "AIza-secret" and "AIza" not in str(first.url)
    assert poll.cursors.load("yt-acme", "channel") == Cursor(watermark="2026-11-23T08:04:00+00:00", seen=("T4",))
    pages[None] = yt_page([yt_thread("T5", 4), yt_thread("T4", 4, replies=[]), yt_thread("T3", 3)], next_token="n2")
    poll.engine.poll_once()
    assert poll.event_ids()[4:] == ["T5"] and poll.standin.requests[-1].url.params.get("pageToken") is None
    assert poll.cursors.load("yt-acme", "channel") == Cursor(watermark="2026-11-23T08:04:00+00:00",
                                                             seen=("T4", "T5"))


def test_youtube_without_channel_or_videos_polls_nothing_and_says_why() -> None:
    bare = POLLERS["youtube"].factory(YouTubeConfig(name="yt", api_key="k"))
    assert bare.endpoints == () and bare.unavailable[0].reason.startswith("neither channel_id nor video_ids")


WEIBO = WeiboConfig(name="weibo-acme", access_token="2.00secret", base_url="https://weibo.test", mentions=False)


def test_weibo_pages_by_max_id_until_an_empty_page_then_polls_since_the_newest_id() -> None:
    def route(request: httpx.Request) -> dict[str, object]:
        assert request.headers["authorization"] == "OAuth2 2.00secret"
        max_id = request.url.params.get("max_id")
        if request.url.params.get("since_id"):
            return weibo_comments([])
        return {None: weibo_comments([4, 3]), "5000000000000002": weibo_comments([2, 1]),
                "5000000000000000": weibo_comments([])}[max_id]

    poll = run(POLLERS["weibo"].factory(WEIBO), route)
    stats = poll.engine.poll_once()
    assert poll.event_ids() == [str(5_000_000_000_000_000 + n) for n in (4, 3, 2, 1)] and stats.pages == 3
    assert poll.cursors.load("weibo-acme", "comments_to_me") == Cursor(watermark="5000000000000004")
    poll.engine.poll_once()
    assert poll.standin.requests[-1].url.params["since_id"] == "5000000000000004"


def test_weibo_rate_limit_error_waits_for_the_next_hour_and_an_expired_token_refuses() -> None:
    limited = httpx.Response(403, json={"error": "User requests out of rate limit!", "error_code": 10023,
                                        "request": "/2/comments/to_me.json"})
    clock = FakeClock(now=T0 + timedelta(minutes=50))  # Weibo's windows are clock hours: 10 minutes left
    poll = run(POLLERS["weibo"].factory(WEIBO), scripted(limited, weibo_comments([1]), weibo_comments([])),
               clock=clock)
    poll.engine.poll_once()
    assert poll.clock.slept == [600.0] and len(poll.event_ids()) == 1
    expired = httpx.Response(400, json={"error": "expired_token", "error_code": 21327})
    refused = run(POLLERS["weibo"].factory(WEIBO), scripted(expired)).engine.poll_once()
    assert refused.requests == 1 and "21327" in (refused.last_error or "")


def test_weibo_mentions_endpoint_reads_statuses() -> None:
    config = WEIBO.model_copy(update={"mentions": True, "comments_to_me": False})
    poll = run(POLLERS["weibo"].factory(config), scripted(weibo_mentions([2]), weibo_mentions([])))
    poll.engine.poll_once()
    assert poll.standin.paths()[0] == "/2/statuses/mentions.json" and poll.event_ids() == ["4000000000000002"]


def test_the_registry_builds_every_platform_from_its_config_fields() -> None:
    assert set(POLLERS) == {"x", "reddit", "youtube", "weibo"}
    config = POLLERS["x"].config.model_validate({"name": "acme-x", "bearer_token": "b", "query": "acme"})
    assert [endpoint.name for endpoint in POLLERS["x"].factory(config).endpoints] == ["search"]
