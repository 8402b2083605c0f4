"""Property tests for the polled platforms' adapters: whatever an API answers (arbitrary JSON, or the
documented pages with items and fields replaced by arbitrary values), ``events_from_page`` gives a page
result (events, skips, invalid items kept with their bytes) or raises ``InvalidEvent`` (the poller
dead-letters the page): never another exception, which would stop the connector's poll."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polled_pages import reddit_comment, reddit_link, weibo_comment, weibo_status, x_page, yt_thread

from ingest.adapters import reddit, weibo, x, youtube
from ingest.adapters.polled import PageResult
from ingest.exceptions import InvalidEvent

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
X = x.XConfig(name="x-acme", brand="acme", bearer_token="t", query="acme", user_id="42")
REDDIT = reddit.RedditConfig(name="r-acme", brand="acme", client_id="c", client_secret="s", user_agent="u",
                             subreddits=("acme",))
YOUTUBE = youtube.YouTubeConfig(name="yt-acme", brand="acme", api_key="k", channel_id="UC" + "a" * 22)
WEIBO = weibo.WeiboConfig(name="wb-acme", brand="acme", access_token="t", uid="1404376560")

scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**63, 2**64), st.floats(allow_nan=False),
                    st.text(max_size=30))
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(st.text(max_size=12), inner, max_size=4)),
                           max_leaves=20)


def mutated(value: Any) -> st.SearchStrategy[Any]:
    """``value`` with, somewhere inside it, one object's key replaced by an arbitrary value or removed."""
    if isinstance(value, dict) and value:
        keys = sorted(value)

        def change(key: str, new: Any, drop: bool, inner: Any) -> dict[str, Any]:
            out = dict(value)
            if drop:
                out.pop(key)
            else:
                out[key] = inner if inner is not None else new
            return out

        return st.sampled_from(keys).flatmap(lambda key: st.builds(
            change, st.just(key), json_values, st.booleans(),
            st.one_of(st.none(), mutated(value[key])) if isinstance(value[key], dict | list) else st.none()))
    if isinstance(value, list) and value:
        return st.integers(0, len(value) - 1).flatmap(
            lambda n: mutated(value[n]).map(lambda item: [*value[:n], item, *value[n + 1:]]))
    return json_values


def judged(read, page: Any) -> None:
    try:
        result = read(page)
    except InvalidEvent:
        return
    assert isinstance(result, PageResult)


PAGES = {
    "x": (lambda p: x.events_from_page(p, X, NOW), x_page([3, 2, 1], next_token="n")),
    "reddit": (lambda p: reddit.events_from_page(p, REDDIT, NOW), {"kind": "Listing", "data": {
        "after": "t1_k00001", "children": [reddit_comment(2), reddit_comment(1, parent="t1_k00002"), reddit_link(1)]}}),
    "youtube": (lambda p: youtube.events_from_page(p, YOUTUBE, NOW), {"items": [
        yt_thread("Ugx1", 5, replies=[]), yt_thread("Ugx2", 4)], "nextPageToken": "p"}),
    "weibo": (lambda p: weibo.events_from_page(p, WEIBO, NOW),
              {"comments": [weibo_comment(2, reply_to=1), weibo_comment(1)], "total_number": 2}),
    "weibo-mentions": (lambda p: weibo.events_from_page(p, WEIBO, NOW),
                       {"statuses": [weibo_status(2), weibo_status(1)], "total_number": 2}),
}


@SETTINGS
@given(st.sampled_from(sorted(PAGES)), json_values)
def test_any_json_answer_is_a_page_result_or_invalid(platform: str, page: Any) -> None:
    judged(PAGES[platform][0], page)


@SETTINGS
@given(st.sampled_from(sorted(PAGES)).flatmap(lambda name: st.tuples(st.just(name), mutated(PAGES[name][1]))))
def test_documented_pages_with_arbitrary_values_inside_are_a_page_result_or_invalid(case: tuple[str, Any]) -> None:
    platform, page = case
    judged(PAGES[platform][0], page)
