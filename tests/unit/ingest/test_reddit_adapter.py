"""The Reddit adapter on listings in the shape of the Reddit API documentation:

- reddit.com/dev/api: ``GET /r/{subreddit}/comments`` and ``GET [/r/{subreddit}]/search`` answer a Listing
  (``{"kind": "Listing", "data": {"after", "before", "dist", "children"}}``), paged with ``after`` / ``before``,
- the things (``t1`` comment: ``author``, ``author_fullname``, ``body``, ``created_utc``, ``permalink``,
  ``parent_id``, ``link_id``; ``t3`` link: ``title``, ``selftext``, ``num_comments``) as described on the
  "JSON" page of the reddit-archive/reddit wiki.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from polled_pages import reddit_comment, reddit_link, reddit_listing

from ingest.adapters.reddit import RedditConfig, events_from_page
from ingest.contracts import EventKind, Platform
from ingest.exceptions import InvalidEvent

RECEIVED = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CONFIG = RedditConfig(name="reddit-acme", brand="acme", client_id="cid", client_secret="secret",
                      user_agent="linux:scrm-test:1.0 (by /u/acme)", subreddits=("acme",))


def test_comments_on_a_link_and_replies_to_comments_are_told_apart_by_their_parent() -> None:
    page = reddit_listing([reddit_comment(2, parent="t1_k00001"), reddit_comment(1)], after="t1_k00001")
    result = events_from_page(page, CONFIG, RECEIVED)
    reply, comment = result.events
    assert reply.kind is EventKind.REPLY and reply.parent_id == "t1_k00001"
    assert comment.kind is EventKind.COMMENT and comment.parent_id == "t3_1abcd2"
    assert comment.platform is Platform.REDDIT and comment.event_id == "t1_k00001"
    assert comment.author.id == "t2_u0001" and comment.author.handle == "user1"
    assert comment.occurred_at == datetime.fromtimestamp(1_795_000_001, tz=UTC)
    assert comment.text == "comment 1 about acme" and comment.thread_id == "t3_1abcd2"
    assert comment.url == "https://www.reddit.com/r/acme/comments/1abcd2/acme_launch/k00001/"
    assert comment.metrics.likes == 3 and comment.raw == reddit_comment(1)
    assert result.next_page == "t1_k00001" and result.newest == "t1_k00002"


def test_a_link_is_a_post_in_a_subreddit_listing_and_a_mention_in_a_search() -> None:
    (post,) = events_from_page(reddit_listing([reddit_link(1)]), CONFIG, RECEIVED).events
    (hit,) = events_from_page(reddit_listing([reddit_link(1)]), CONFIG, RECEIVED, search=True).events
    assert post.kind is EventKind.POST and hit.kind is EventKind.MENTION
    assert post.event_id == "t3_1l0001" and post.thread_id == "t3_1l0001" and post.parent_id is None
    assert post.text == "Is the acme phone 1 any good?\n\nThinking of buying."
    assert (post.metrics.likes, post.metrics.replies) == (12, 4)


def test_deleted_authors_removed_comments_and_other_kinds_are_skipped_with_reasons() -> None:
    deleted, removed = reddit_comment(3), reddit_comment(2)
    deleted["data"].update(author="[deleted]", body="[deleted]")
    del deleted["data"]["author_fullname"]
    removed["data"]["body"] = "[removed]"
    page = reddit_listing([deleted, removed, {"kind": "t5", "data": {"id": "2qh1i"}}, reddit_comment(1)])
    result = events_from_page(page, CONFIG, RECEIVED)
    assert [event.event_id for event in result.events] == ["t1_k00001"]
    assert [skip.reason for skip in result.skipped] == [
        "the author deleted their account or the thing", "a removed or deleted comment",
        "not a comment (t1) or link (t3)"]


def test_a_thing_without_its_author_id_is_invalid_and_the_rest_goes_on() -> None:
    bad = reddit_comment(2)
    del bad["data"]["author_fullname"]
    result = events_from_page(reddit_listing([bad, reddit_comment(1)]), CONFIG, RECEIVED)
    assert [event.event_id for event in result.events] == ["t1_k00001"]
    assert result.invalid[0].error.field == "data.children[0].data.author_fullname"


def test_the_last_page_has_no_after_and_an_empty_listing_no_newest() -> None:
    result = events_from_page(reddit_listing([]), CONFIG, RECEIVED)
    assert result.events == () and result.next_page is None and result.newest is None


@pytest.mark.parametrize("page", [{"kind": "t1", "data": {}}, {"kind": "Listing", "data": {}}, ["Listing"],
                                  {"message": "Forbidden", "error": 403}])
def test_an_answer_that_is_not_a_listing_is_invalid(page: object) -> None:
    with pytest.raises(InvalidEvent):
        events_from_page(page, CONFIG, RECEIVED)


def test_subreddit_names_are_checked() -> None:
    with pytest.raises(ValueError, match="subreddits"):
        RedditConfig(name="r", client_id="c", client_secret="s", user_agent="ua", subreddits=("acme/../x",))
