"""YouTube Data API v3 comment threads -> ``SocialEvent``s. Pure: ``events_from_page(page_json, config,
received_at)``.

The platform's documentation: "CommentThreads: list" (developers.google.com/youtube/v3/docs/commentThreads/list)
and the commentThreads / comments resources. ``GET /youtube/v3/commentThreads?part=snippet,replies`` answers
``{"kind": "youtube#commentThreadListResponse", "nextPageToken"?, "pageInfo", "items": [thread...]}``, newest
thread first with ``order=time``; a thread is ``{"id", "snippet": {"videoId", "topLevelComment": comment,
"totalReplyCount"}, "replies"?: {"comments": [comment...]}}`` (the API includes some of the replies; all of
them take a ``comments.list`` by ``parentId``), and a comment ``{"id", "snippet": {"authorDisplayName",
"authorChannelId": {"value"}, "textOriginal", "textDisplay", "likeCount", "publishedAt", "parentId"?,
"videoId"}}``.

Mapping (platform ``youtube``, event_id = the comment ``id``, author id = ``authorChannelId.value``,
handle / display_name = ``authorDisplayName`` (a handle when it starts with ``@``), occurred_at =
``publishedAt``, text = ``textOriginal`` (else ``textDisplay``), thread_id = ``videoId``, url =
``https://www.youtube.com/watch?v=<videoId>&lc=<comment id>``, likes = ``likeCount``):
| comment | kind | parent_id | replies |
|---|---|---|---|
| ``snippet.topLevelComment`` | comment | the video | ``totalReplyCount`` |
| each of ``replies.comments`` | reply | ``snippet.parentId`` (the top-level comment) | - |
Skipped: comments by the connector's own channel (``channel_id``). Invalid: a thread without a top-level
comment, a comment without ``id`` or ``authorChannelId`` (the whole thread: it is one item of the page).
``next_page`` is ``nextPageToken``; ``newest`` the latest ``publishedAt`` on the page (UTC, ISO 8601).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import Field, SecretStr

from ingest.adapters.base import Skipped
from ingest.adapters.json_payload import bounded_raw, bounded_text, epoch, list_of, mapping_of, text_of
from ingest.adapters.polled import PageResult, PollConfig, count, read_items, required_object
from ingest.codec import event_from_dict
from ingest.contracts import EventKind, Platform, SocialEvent
from ingest.exceptions import InvalidEvent

DEFAULT_BASE_URL = "https://www.googleapis.com"
VideoId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{6,64}$")]


class YouTubeConfig(PollConfig):
    """A YouTube poll connector for one brand: a Google Cloud API key with the YouTube Data API v3 enabled
    (console.cloud.google.com > APIs & Services > Credentials). Polls every thread of the brand's channel
    (``channel_id``: ``allThreadsRelatedToChannelId``) and/or of single videos (``video_ids``); without
    either it polls nothing."""

    base_url: str = Field(default=DEFAULT_BASE_URL, min_length=1)
    requests_per_15min: int = Field(default=100, ge=1, le=100_000)
    """A call costs 1 quota unit of the project's 10,000 a day (~104 per 15 minutes) shared by all."""
    api_key: SecretStr = Field(min_length=1)
    channel_id: str | None = Field(default=None, pattern=r"^UC[A-Za-z0-9_-]{22}$")
    video_ids: tuple[VideoId, ...] = Field(default=(), max_length=200)
    max_results: int = Field(default=100, ge=1, le=100)


def events_from_page(page: Any, config: YouTubeConfig, received_at: datetime) -> PageResult:
    """Map one ``commentThreads.list`` answer. Pure; raises ``InvalidEvent`` for an answer that is not one
    (not an object, ``items`` missing or not a list)."""
    body = required_object(page, "<payload>")
    items = body.get("items")
    if not isinstance(items, list):
        raise InvalidEvent("items", "missing or not a list: not a commentThreads answer")

    def one(item: Any, where: str) -> list[SocialEvent | Skipped]:
        return _thread(item, where, config, received_at)

    events, skipped, invalid = read_items(items, "items", one)
    published = [stamp for stamp in map(_published, _comments(items)) if stamp is not None]
    return PageResult(events, skipped, invalid, next_page=text_of(body.get("nextPageToken")),
                      newest=utc_iso(max(published)) if published else None)


def utc_iso(moment: datetime) -> str:
    """An instant as ``PageResult.newest`` spells it (UTC, ISO 8601, to the second as YouTube gives it):
    strings that sort as the instants do."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def _comments(items: list[Any]) -> list[Mapping[str, Any]]:
    """Every comment object of the page's threads (top-level and included replies)."""
    comments: list[Mapping[str, Any]] = []
    for thread in map(mapping_of, items):
        comments.append(mapping_of(mapping_of(thread.get("snippet")).get("topLevelComment")))
        comments.extend(map(mapping_of, list_of(mapping_of(thread.get("replies")).get("comments"))))
    return comments


def _published(comment: Mapping[str, Any]) -> datetime | None:
    stamp = epoch(mapping_of(comment.get("snippet")).get("publishedAt"))
    return stamp.astimezone(UTC) if stamp is not None else None


def _thread(item: Any, where: str, config: YouTubeConfig, received_at: datetime) -> list[SocialEvent | Skipped]:
    thread = required_object(item, where)
    snippet = mapping_of(thread.get("snippet"))
    video_id = text_of(snippet.get("videoId"))
    top = required_object(snippet.get("topLevelComment"), f"{where}.snippet.topLevelComment")
    outcomes = [_comment(top, f"{where}.snippet.topLevelComment", config, received_at, video_id,
                         replies=count(snippet.get("totalReplyCount")))]
    for n, reply in enumerate(list_of(mapping_of(thread.get("replies")).get("comments"))):
        outcomes.append(_comment(required_object(reply, f"{where}.replies.comments[{n}]"),
                                 f"{where}.replies.comments[{n}]", config, received_at, video_id, replies=None))
    return outcomes


def _comment(
    comment: Mapping[str, Any], where: str, config: YouTubeConfig, received_at: datetime, video_id: str | None,
    *, replies: int | None,
) -> SocialEvent | Skipped:
    comment_id = text_of(comment.get("id"))
    if comment_id is None:
        raise InvalidEvent(f"{where}.id", "missing")
    snippet = mapping_of(comment.get("snippet"))
    author_id = text_of(mapping_of(snippet.get("authorChannelId")).get("value"))
    if author_id is None:
        raise InvalidEvent(f"{where}.snippet.authorChannelId.value", "missing")
    if author_id == config.channel_id:
        return Skipped(f"{where} id={comment_id}", "a comment by the connector's own channel")
    name = text_of(snippet.get("authorDisplayName"))
    parent = text_of(snippet.get("parentId")) if replies is None else video_id
    video_id = text_of(snippet.get("videoId")) or video_id
    return event_from_dict({
        "event_id": comment_id,
        "platform": Platform.YOUTUBE.value,
        "kind": (EventKind.COMMENT if replies is not None else EventKind.REPLY).value,
        "occurred_at": _published(comment) or received_at,
        "received_at": received_at,
        "author": {"id": author_id, "handle": name if name and name.startswith("@") else None,
                   "display_name": name},
        "brand": config.brand,
        "text": bounded_text(snippet.get("textOriginal")) or bounded_text(snippet.get("textDisplay")),
        "url": f"https://www.youtube.com/watch?v={video_id}&lc={comment_id}" if video_id else None,
        "parent_id": parent,
        "thread_id": video_id,
        "metrics": {"likes": count(snippet.get("likeCount")), "replies": replies or 0},
        "source": config.name,
        "raw": bounded_raw(dict(comment)),
    })
