"""The X adapter on answers in the shape of the X API v2 documentation:

- "GET /2/tweets/search/recent" (developer.x.com/en/docs/x-api/tweets/search/api-reference/get-tweets-search-recent:
  ``data``, ``includes.users`` with ``expansions=author_id``, ``meta.newest_id`` / ``next_token``; no ``data``
  when nothing matched),
- "GET /2/users/:id/mentions" (developer.x.com/en/docs/x-api/tweets/timelines/api-reference/get-users-id-mentions),
- the Tweet object's ``referenced_tweets`` and ``public_metrics``, the User object's ``public_metrics`` and
  ``verified`` (developer.x.com/en/docs/x-api/data-dictionary/object-model/tweet, .../user).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from polled_pages import X_USER, x_page, x_tweet

from ingest.adapters.x import XConfig, events_from_page
from ingest.contracts import EventKind, Platform
from ingest.exceptions import InvalidEvent

RECEIVED = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CONFIG = XConfig(name="x-acme", brand="acme", bearer_token="AAAA-bearer", query="acme", user_id="1111")


def test_a_search_page_maps_each_tweet_with_its_expanded_author_and_metrics() -> None:
    result = events_from_page(x_page([3, 2], next_token="b26v89c19zqg8o3fos"), CONFIG, RECEIVED)
    assert [event.event_id for event in result.events] == ["1600000000000000003", "1600000000000000002"]
    event = result.events[0]
    assert event.platform is Platform.X and event.kind is EventKind.MENTION
    assert event.author.id == "2244994945" and event.author.handle == "XDevelopers"
    assert event.author.display_name == "Developers" and event.author.followers == 583423 and event.author.verified
    assert event.occurred_at == datetime(2026, 11, 23, 8, 3, tzinfo=UTC) and event.received_at == RECEIVED
    assert (event.metrics.likes, event.metrics.shares, event.metrics.replies) == (7, 3, 1)
    assert event.text == "@acme tweet number 3" and event.lang == "en"
    assert event.url == "https://x.com/XDevelopers/status/1600000000000000003"
    assert event.thread_id == "1600000000000000003" and event.source == "x-acme" and event.brand == "acme"
    assert event.raw == {"tweet": x_tweet(3), "author": X_USER}
    assert result.next_page == "b26v89c19zqg8o3fos" and result.newest == "1600000000000000003"
    assert result.skipped == () and result.invalid == ()


@pytest.mark.parametrize(("ref_type", "kind"), [
    ("replied_to", EventKind.REPLY), ("quoted", EventKind.SHARE), ("retweeted", EventKind.SHARE)])
def test_referenced_tweets_make_replies_and_shares_naming_their_parent(ref_type: str, kind: EventKind) -> None:
    page = x_page([1])
    page["data"] = [x_tweet(1, refs=[{"type": ref_type, "id": "1599999999999999999"}])]
    (event,) = events_from_page(page, CONFIG, RECEIVED).events
    assert event.kind is kind and event.parent_id == "1599999999999999999"


def test_a_reply_that_quotes_is_a_reply() -> None:
    page = x_page([1])
    page["data"] = [x_tweet(1, refs=[{"type": "quoted", "id": "7"}, {"type": "replied_to", "id": "8"}])]
    (event,) = events_from_page(page, CONFIG, RECEIVED).events
    assert event.kind is EventKind.REPLY and event.parent_id == "8"


def test_an_empty_result_has_no_events_and_no_next_page() -> None:
    result = events_from_page({"meta": {"result_count": 0}}, CONFIG, RECEIVED)
    assert result.events == () and result.next_page is None and result.newest is None


def test_the_connectors_own_tweets_are_skipped_with_the_reason_and_bad_tweets_come_back_invalid() -> None:
    page = x_page([3, 2, 1])
    page["data"][0]["author_id"] = "1111"
    del page["data"][1]["author_id"]
    result = events_from_page(page, CONFIG, RECEIVED)
    assert [event.event_id for event in result.events] == ["1600000000000000001"]
    assert [skip.reason for skip in result.skipped] == ["a tweet by the connector's own account"]
    (invalid,) = result.invalid
    assert invalid.error.field == "data[1].author_id" and b'"id": "1600000000000000002"' in invalid.original


def test_an_author_missing_from_includes_still_gives_an_event_with_the_author_id_only() -> None:
    page = x_page([1])
    page["includes"] = {}
    (event,) = events_from_page(page, CONFIG, RECEIVED).events
    assert event.author.id == "2244994945" and event.author.handle is None and event.author.followers is None
    assert event.url == "https://x.com/i/web/status/1600000000000000001"


def test_a_long_post_keeps_its_note_tweet_text_and_und_is_no_language() -> None:
    page = x_page([1])
    page["data"][0].update(note_tweet={"text": "a long post " * 40}, lang="und")
    (event,) = events_from_page(page, CONFIG, RECEIVED).events
    assert event.text == "a long post " * 40 and event.lang is None


@pytest.mark.parametrize("page", [[], "data", {"errors": [{"title": "Invalid Request"}]}, {"data": {"id": "1"}}])
def test_an_answer_that_is_not_a_tweets_listing_is_invalid(page: object) -> None:
    with pytest.raises(InvalidEvent):
        events_from_page(page, CONFIG, RECEIVED)
