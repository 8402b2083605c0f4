"""The Weibo adapter on answers in the shape of the Weibo open API documentation:
"comments/to_me" (open.weibo.com/wiki/2/comments/to_me: ``comments`` with ``created_at`` "Wed Jun 01 00:50:25
+0800 2011", ``idstr``, ``user``, ``status``, ``reply_comment``; ``previous_cursor`` / ``next_cursor`` /
``total_number``) and "statuses/mentions" (open.weibo.com/wiki/2/statuses/mentions: ``statuses`` with
``reposts_count``, ``comments_count``, ``attitudes_count``, ``retweeted_status``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from polled_pages import weibo_comment, weibo_comments, weibo_mentions, weibo_status

from ingest.adapters.weibo import WeiboConfig, events_from_page, weibo_time
from ingest.contracts import EventKind, Platform
from ingest.exceptions import InvalidEvent

RECEIVED = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CONFIG = WeiboConfig(name="weibo-acme", brand="acme", access_token="2.00token", uid="2803301701")


def test_comments_to_me_become_comments_on_the_status_and_replies_to_the_comment() -> None:
    page = weibo_comments([2, 1])
    page["comments"][0] = weibo_comment(2, reply_to=1)
    result = events_from_page(page, CONFIG, RECEIVED)
    reply, comment = result.events
    assert comment.platform is Platform.WEIBO and comment.kind is EventKind.COMMENT
    assert comment.event_id == "5000000000000001" and comment.author.id == "1756362765"
    assert comment.author.handle == "zaku" and comment.author.followers == 1204
    assert comment.parent_id == comment.thread_id == "4000000000000001"
    assert comment.occurred_at == datetime(2011, 6, 1, 0, 50, 25, tzinfo=timezone(timedelta(hours=8)))
    assert comment.text == "评论1：什么时候发货？" and comment.url == "https://m.weibo.cn/detail/4000000000000001"
    assert reply.kind is EventKind.REPLY and reply.parent_id == "5000000000000001"
    assert result.newest == "5000000000000002" and result.next_page == "5000000000000000"


def test_mentions_carry_their_counts_and_a_repost_names_the_reposted_status() -> None:
    page = weibo_mentions([3])
    page["statuses"][0]["retweeted_status"] = weibo_status(1, user="2803301701")
    (event,) = events_from_page(page, CONFIG, RECEIVED).events
    assert event.kind is EventKind.MENTION and event.event_id == "4000000000000003"
    assert (event.metrics.likes, event.metrics.shares, event.metrics.replies) == (3, 8, 9)
    assert event.parent_id == event.thread_id == "4000000000000001"
    assert event.url == "https://m.weibo.cn/detail/4000000000000003"


def test_own_hidden_and_deleted_items_are_skipped_and_an_item_without_id_is_invalid() -> None:
    page = weibo_mentions([4, 3, 2, 1])
    page["statuses"][0]["user"] = weibo_status(9, user="2803301701")["user"]
    page["statuses"][1].pop("user")
    page["statuses"][2]["deleted"] = "1"
    page["statuses"].append({"text": "no id", "user": {"idstr": "1"}})
    result = events_from_page(page, CONFIG, RECEIVED)
    assert [event.event_id for event in result.events] == ["4000000000000001"]
    assert [skip.reason for skip in result.skipped] == [
        "by the connector's own account", "no user: the account is hidden or deleted", "a deleted status"]
    assert result.invalid[0].error.field == "statuses[4].idstr"


def test_an_empty_page_ends_the_listing() -> None:
    result = events_from_page(weibo_comments([]), CONFIG, RECEIVED)
    assert result.events == () and result.next_page is None and result.newest is None


def test_weibo_time_is_read_without_the_locale() -> None:
    assert weibo_time("Tue May 31 17:46:55 +0800 2011") == datetime(2011, 5, 31, 9, 46, 55, tzinfo=UTC)
    assert weibo_time("2011-05-31") is None and weibo_time("Tue Foo 31 17:46:55 +0800 2011") is None


@pytest.mark.parametrize("page", [{"error": "expired_token", "error_code": 21327}, {"comments": {}}, []])
def test_an_answer_with_neither_list_is_invalid(page: object) -> None:
    with pytest.raises(InvalidEvent):
        events_from_page(page, CONFIG, RECEIVED)
