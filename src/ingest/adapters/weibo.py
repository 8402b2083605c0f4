"""Weibo open API (微博开放平台) comment and mention listings -> ``SocialEvent``s. Pure:
``events_from_page(page_json, config, received_at)``.

The platform's documentation: "comments/to_me" (open.weibo.com/wiki/2/comments/to_me: 我收到的评论) and
"statuses/mentions" (open.weibo.com/wiki/2/statuses/mentions: @我的微博). ``comments/to_me.json`` answers
``{"comments": [comment...], "previous_cursor", "next_cursor", "total_number"}``, ``statuses/mentions.json``
``{"statuses": [status...], ...}``, newest first. A comment is ``{"created_at": "Tue May 31 17:46:55 +0800
2011", "id", "idstr", "text", "user": user, "status": the commented status, "reply_comment"?: the comment
replied to}``; a status ``{"created_at", "id", "idstr", "mid", "text", "user", "reposts_count",
"comments_count", "attitudes_count", "retweeted_status"?}``; a user ``{"id", "idstr", "screen_name", "name",
"followers_count", "verified"}``.

Mapping (platform ``weibo``, event_id = ``idstr``, author id = ``user.idstr``, handle = ``screen_name``,
display_name = ``name``, followers = ``followers_count``, occurred_at = ``created_at``):
| item | kind | parent_id | thread_id | url | metrics |
|---|---|---|---|---|---|
| comment | comment | ``status.idstr`` | ``status.idstr`` | the status | - |
| comment with ``reply_comment`` | reply | ``reply_comment.idstr`` | ``status.idstr`` | the status | - |
| status (a mention) | mention | ``retweeted_status.idstr`` (a repost) | the reposted status, else itself | the status | likes = ``attitudes_count``, shares = ``reposts_count``, replies = ``comments_count`` |
A status's url is ``https://m.weibo.cn/detail/<idstr>``. Skipped: items by the connector's own account
(``uid``), deleted statuses, items without a user (hidden or deleted accounts). Invalid: an item without an
id. ``newest`` is the largest id on the page; ``next_page`` the ``max_id`` of the next (older) page, one
below the smallest id on this one, ``None`` when the page is empty (Weibo filters items it will not show, so
a short page is not the last one).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from pydantic import Field, SecretStr

from ingest.adapters.base import Skipped
from ingest.adapters.json_payload import bounded_raw, bounded_text, mapping_of, text_of
from ingest.adapters.polled import PageResult, PollConfig, count, read_items, required_object
from ingest.codec import event_from_dict
from ingest.contracts import EventKind, Platform, SocialEvent
from ingest.exceptions import InvalidEvent

DEFAULT_BASE_URL = "https://api.weibo.com"
_MONTHS = {name: n for n, name in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1)}


class WeiboConfig(PollConfig):
    """A Weibo poll connector for one brand account: an app's OAuth2 ``access_token`` authorized by the
    brand's account (open.weibo.com > 我的应用; the user token of the account whose comments and mentions are
    read). ``uid`` (the account's numeric id) skips the account's own comments and reposts."""

    base_url: str = Field(default=DEFAULT_BASE_URL, min_length=1)
    requests_per_15min: int = Field(default=30, ge=1, le=100_000)
    """A test-level app may call 150 times an hour per user token (37 per 15 minutes)."""
    access_token: SecretStr = Field(min_length=1)
    uid: str | None = Field(default=None, pattern=r"^[0-9]{1,20}$")
    comments_to_me: bool = True
    """Poll ``comments/to_me`` (comments on the account's statuses and replies to its comments)."""
    mentions: bool = True
    """Poll ``statuses/mentions`` (statuses that @-mention the account)."""
    count: int = Field(default=50, ge=1, le=200)


def events_from_page(page: Any, config: WeiboConfig, received_at: datetime) -> PageResult:
    """Map one ``comments/to_me`` (``comments``) or ``statuses/mentions`` (``statuses``) answer. Pure;
    raises ``InvalidEvent`` for an answer with neither list (an error body, something else)."""
    body = required_object(page, "<payload>")
    listing = "comments" if "comments" in body else "statuses"
    items = body.get(listing)
    if not isinstance(items, list):
        raise InvalidEvent(listing, "missing or not a list: not a comments/to_me or statuses/mentions answer")
    reader = _comment if listing == "comments" else _status

    def one(item: Any, where: str) -> SocialEvent | Skipped:
        return reader(required_object(item, where), where, config, received_at)

    events, skipped, invalid = read_items(items, listing, one)
    ids = [number for number in (_numeric_id(mapping_of(item)) for item in items) if number is not None]
    return PageResult(events, skipped, invalid, next_page=str(min(ids) - 1) if ids else None,
                      newest=str(max(ids)) if ids else None)


def weibo_time(value: Any) -> datetime | None:
    """``Tue May 31 17:46:55 +0800 2011`` as an aware datetime (parsed without the process's locale, which
    ``strptime``'s ``%a``/``%b`` would use); ``None`` for anything else."""
    parts = value.split() if isinstance(value, str) else []
    if len(parts) != 6 or parts[1] not in _MONTHS:
        return None
    _, month, day, clock, offset, year = parts
    try:
        hours, minutes, seconds = (int(part) for part in clock.split(":"))
        sign = -1 if offset[0] == "-" else 1
        zone = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])))
        return datetime(int(year), _MONTHS[month], int(day), hours, minutes, seconds, tzinfo=zone)
    except (ValueError, IndexError):
        return None


def _numeric_id(item: Mapping[str, Any]) -> int | None:
    text = text_of(item.get("idstr")) or text_of(item.get("id"))
    return int(text) if text is not None and text.isdigit() else None


def _item_id(item: Mapping[str, Any], where: str) -> str:
    item_id = text_of(item.get("idstr")) or text_of(item.get("id"))
    if item_id is None:
        raise InvalidEvent(f"{where}.idstr", "missing (and no id)")
    return item_id


def _author(item: Mapping[str, Any], where: str, item_id: str, config: WeiboConfig) -> dict[str, Any] | Skipped:
    user = mapping_of(item.get("user"))
    user_id = text_of(user.get("idstr")) or text_of(user.get("id"))
    if user_id is None:
        return Skipped(f"{where} id={item_id}", "no user: the account is hidden or deleted")
    if user_id == config.uid:
        return Skipped(f"{where} id={item_id}", "by the connector's own account")
    return {"id": user_id, "handle": text_of(user.get("screen_name")), "display_name": text_of(user.get("name")),
            "followers": count(user["followers_count"]) if "followers_count" in user else None,
            "verified": user.get("verified") is True}


def _build(item: Mapping[str, Any], config: WeiboConfig, received_at: datetime, **fields: Any) -> SocialEvent:
    return event_from_dict({
        "platform": Platform.WEIBO.value,
        "occurred_at": weibo_time(item.get("created_at")) or received_at,
        "received_at": received_at,
        "brand": config.brand,
        "text": bounded_text(item.get("text")),
        "source": config.name,
        "raw": bounded_raw(dict(item)),
        **fields,
    })


def _comment(item: Mapping[str, Any], where: str, config: WeiboConfig, received_at: datetime) -> SocialEvent | Skipped:
    comment_id = _item_id(item, where)
    author = _author(item, where, comment_id, config)
    if isinstance(author, Skipped):
        return author
    status = mapping_of(item.get("status"))
    status_id = text_of(status.get("idstr")) or text_of(status.get("id"))
    replied = mapping_of(item.get("reply_comment"))
    replied_id = text_of(replied.get("idstr")) or text_of(replied.get("id"))
    return _build(
        item, config, received_at,
        event_id=comment_id,
        kind=(EventKind.REPLY if replied_id else EventKind.COMMENT).value,
        author=author,
        url=f"https://m.weibo.cn/detail/{status_id}" if status_id else None,
        parent_id=replied_id or status_id,
        thread_id=status_id,
    )


def _status(item: Mapping[str, Any], where: str, config: WeiboConfig, received_at: datetime) -> SocialEvent | Skipped:
    status_id = _item_id(item, where)
    if item.get("deleted") in ("1", 1, True):
        return Skipped(f"{where} id={status_id}", "a deleted status")
    author = _author(item, where, status_id, config)
    if isinstance(author, Skipped):
        return author
    reposted = mapping_of(item.get("retweeted_status"))
    reposted_id = text_of(reposted.get("idstr")) or text_of(reposted.get("id"))
    return _build(
        item, config, received_at,
        event_id=status_id,
        kind=EventKind.MENTION.value,
        author=author,
        url=f"https://m.weibo.cn/detail/{status_id}",
        parent_id=reposted_id,
        thread_id=reposted_id or status_id,
        metrics={"likes": count(item.get("attitudes_count")), "shares": count(item.get("reposts_count")),
                 "replies": count(item.get("comments_count"))},
    )
