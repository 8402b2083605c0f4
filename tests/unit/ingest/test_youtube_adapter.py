"""The YouTube adapter on answers in the shape of the YouTube Data API v3 documentation:
"CommentThreads: list" (developers.google.com/youtube/v3/docs/commentThreads/list: ``items``,
``nextPageToken``, ``part=snippet,replies``) and the commentThreads / comments resources
(developers.google.com/youtube/v3/docs/commentThreads#resource, .../docs/comments#resource:
``snippet.topLevelComment``, ``replies.comments``, ``authorChannelId.value``, ``textOriginal``, ``likeCount``,
``publishedAt``, ``parentId``).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from polled_pages import yt_comment, yt_page, yt_thread

from ingest.adapters.youtube import YouTubeConfig, events_from_page
from ingest.contracts import EventKind, Platform
from ingest.exceptions import InvalidEvent

RECEIVED = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
OWN = "UCacmeacmeacmeacmeacmeac"
CONFIG = YouTubeConfig(name="yt-acme", brand="acme", api_key="AIza-key", channel_id=OWN)


def test_a_thread_gives_its_top_level_comment_and_the_replies_it_includes() -> None:
    thread = yt_thread("UgzT1", 5, replies=[yt_comment("UgzT1.r1", 7, parent="UgzT1")])
    result = events_from_page(yt_page([thread], next_token="QURTSl9pM"), CONFIG, RECEIVED)
    top, reply = result.events
    assert top.platform is Platform.YOUTUBE and top.kind is EventKind.COMMENT and top.event_id == "UgzT1"
    assert top.author.id == "UCa1b2c3d4e5f6g7h8i9j0kl" and top.author.handle == "@viewer"
    assert top.text == "comment UgzT1 & more" and top.occurred_at == datetime(2026, 11, 23, 8, 5, tzinfo=UTC)
    assert top.parent_id == "dQw4w9WgXcQ" and top.thread_id == "dQw4w9WgXcQ"
    assert (top.metrics.likes, top.metrics.replies) == (4, 1)
    assert top.url == "https://www.youtube.com/watch?v=dQw4w9WgXcQ&lc=UgzT1"
    assert reply.kind is EventKind.REPLY and reply.parent_id == "UgzT1" and reply.event_id == "UgzT1.r1"
    assert result.next_page == "QURTSl9pM" and result.newest == "2026-11-23T08:07:00+00:00"


def test_the_channels_own_replies_are_skipped() -> None:
    thread = yt_thread("UgzT1", 5, replies=[yt_comment("UgzT1.r1", 7, parent="UgzT1", author=OWN)])
    result = events_from_page(yt_page([thread]), CONFIG, RECEIVED)
    assert [event.event_id for event in result.events] == ["UgzT1"]
    assert [skip.reason for skip in result.skipped] == ["a comment by the connector's own channel"]
    assert result.next_page is None


def test_a_comment_without_an_author_channel_makes_its_thread_invalid_and_the_page_goes_on() -> None:
    bad = yt_thread("UgzT2", 6)
    del bad["snippet"]["topLevelComment"]["snippet"]["authorChannelId"]
    result = events_from_page(yt_page([bad, yt_thread("UgzT1", 5)]), CONFIG, RECEIVED)
    assert [event.event_id for event in result.events] == ["UgzT1"]
    assert result.invalid[0].error.field == "items[0].snippet.topLevelComment.snippet.authorChannelId.value"


@pytest.mark.parametrize("page", [{"kind": "youtube#commentThreadListResponse"}, {"items": {}}, []])
def test_an_answer_without_items_is_invalid(page: object) -> None:
    with pytest.raises(InvalidEvent):
        events_from_page(page, CONFIG, RECEIVED)
