"""Per-platform ids, urls and raw payloads of simulated events, in the rough shape of each platform's API.

Every shape function returns ``(event_id, url, native root id for urls, raw)``. It gets the persona, the
event kind, ``n = (s, s64, c, us, at)`` (a unique 40-bit scrambled number, a unique 64-bit one, the
platform's event counter, occurred_at in µs since the epoch and as a datetime), the parent ``Item`` if any
and the brand. Pure: the same arguments give the same shape.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ingest.contracts import EventKind, Platform
from ingest.simulator.draws import B36, B62, B64, enc
from ingest.simulator.kinds import COMMENT, FOLLOW, LIKE, POST, REPLY, SHARE
from ingest.simulator.population import Persona

_X_EPOCH_MS = 1_288_834_974_657
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_Shape = tuple[str, str | None, str, dict[str, Any]]
_Ids = tuple[int, int, int, int, datetime]  # (s, s64, counter, occurred µs, occurred_at)


class Item:
    """An emitted event that later events can point at (parent of comments, replies, likes, shares)."""

    __slots__ = ("event_id", "thread_id", "brand", "url", "handle", "native")

    def __init__(
        self, event_id: str, thread_id: str, brand: str | None, url: str | None, handle: str, native: str
    ) -> None:
        self.event_id = event_id
        self.thread_id = thread_id
        self.brand = brand
        self.url = url
        self.handle = handle
        self.native = native


def _weibo_bid(mid: str) -> str:
    """Weibo's base62 short id of a numeric mid (7-digit groups from the right, 4 characters each)."""
    parts = []
    end = len(mid)
    while end > 0:
        start = max(0, end - 7)
        value = int(mid[start:end])
        parts.append(enc(value, B62, 4) if start else enc(value, B62, 4).lstrip("0"))
        end = start
    return "".join(reversed(parts))


def _weibo(p: Persona, kind: EventKind, n: _Ids, parent: Item | None, brand: str) -> _Shape:
    s, s64, c, us, at = n
    root = parent.thread_id if parent is not None else None
    mid = str(5_000_000_000_000_000 + s * 907)
    created = f"{_DAYS[at.weekday()]} {_MONTHS[at.month]} {at.day:02d} {at:%H:%M:%S} +0800 {at.year}"
    raw: dict[str, Any] = {"idstr": mid, "mid": mid, "created_at": created, "user": {"idstr": p.author.id}}
    if parent is None or kind is SHARE:
        if parent is not None:
            raw["retweeted_status"] = {"idstr": parent.event_id}
        native = _weibo_bid(mid)
        return mid, None if kind is FOLLOW else f"https://weibo.com/{p.author.id}/{native}", native, raw
    raw["status"] = {"idstr": root}
    if kind is REPLY:
        raw["reply_comment"] = {"idstr": parent.event_id}
    return mid, None if kind is LIKE else parent.url, parent.native, raw


def _wechat(p: Persona, kind: EventKind, n: _Ids, parent: Item | None, brand: str) -> _Shape:
    s, s64, c, us, at = n
    root = parent.thread_id if parent is not None else None
    msg_id = str(7_300_000_000_000_000_000 + s * 1_000_003)
    ts = us // 1_000_000
    if kind is POST:  # an official-account article
        native = enc(s64, B64, 11) + enc(s64 ^ 0x5DEECE66D, B64, 11)
        return (
            msg_id,
            f"https://mp.weixin.qq.com/s/{native}",
            native,
            {"msg_data_id": msg_id, "create_time": ts},
        )
    if parent is not None and (kind is COMMENT or kind is REPLY):
        raw: dict[str, Any] = {
            "user_comment_id": msg_id,
            "openid": p.author.id,
            "create_time": ts,
            "msg_data_id": root,
        }
        return msg_id, parent.url, parent.native, raw
    event = "like" if kind is LIKE else "share" if kind is SHARE else "subscribe" if kind is FOLLOW else None
    raw = {
        "FromUserName": p.author.id,
        "CreateTime": ts,
        "MsgType": "event" if event else "text",
        "MsgId": msg_id,
    }
    if event:
        raw["Event"] = event
    return msg_id, None, "", raw


def _wecom(p: Persona, kind: EventKind, n: _Ids, parent: Item | None, brand: str) -> _Shape:
    s, s64, c, us, at = n
    msg_id = f"{s64:016x}_{us // 1_000_000}_external"
    raw = {"msgid": msg_id, "action": "send", "from": p.author.id, "msgtime": us // 1000, "msgtype": "text"}
    return msg_id, None, "", raw


def _douyin(p: Persona, kind: EventKind, n: _Ids, parent: Item | None, brand: str) -> _Shape:
    s, s64, c, us, at = n
    root = parent.thread_id if parent is not None else None
    item_id = str(7_430_000_000_000_000_000 + s * 1_000_003)
    ts = us // 1_000_000
    if parent is None:
        url = None if kind is FOLLOW else f"https://www.douyin.com/video/{item_id}"
        return (
            item_id,
            url,
            item_id,
            {"aweme_id": item_id, "create_time": ts, "author": {"sec_uid": p.author.id}},
        )
    raw: dict[str, Any] = {
        "cid": item_id,
        "aweme_id": root,
        "create_time": ts,
        "user": {"sec_uid": p.author.id},
    }
    if kind is REPLY:
        raw["reply_id"] = parent.event_id
    return item_id, None if kind is LIKE else parent.url, parent.native, raw


def _xiaohongshu(p: Persona, kind: EventKind, n: _Ids, parent: Item | None, brand: str) -> _Shape:
    s, s64, c, us, at = n
    root = parent.thread_id if parent is not None else None
    item_id = f"{us // 1_000_000:08x}{s64:016x}"
    user = {"user_id": p.author.id, "nickname": p.author.display_name}
    if parent is None:
        url = None if kind is FOLLOW else f"https://www.xiaohongshu.com/explore/{item_id}"
        return item_id, url, item_id, {"note_id": item_id, "time": us // 1000, "user": user}
    raw = {"id": item_id, "note_id": root, "create_time": us // 1000, "user_info": user}
    return item_id, None if kind is LIKE else parent.url, parent.native, raw


def _zhihu(p: Persona, kind: EventKind, n: _Ids, parent: Item | None, brand: str) -> _Shape:
    s, s64, c, us, at = n
    item_id = str(10_000_000_000 + s * 7)
    author = {"id": p.author.id, "url_token": p.author.handle}
    ts = us // 1_000_000
    if parent is None:
        native = str(600_000_000 + s64 % 99_999_999)
        url = None if kind is FOLLOW else f"https://www.zhihu.com/question/{native}/answer/{item_id}"
        return item_id, url, native, {"id": item_id, "type": "answer", "created_time": ts, "author": author}
    raw = {
        "id": item_id,
        "type": str(kind),
        "created_time": ts,
        "author": author,
        "target_id": parent.event_id,
    }
    return item_id, None if kind is LIKE else parent.url, parent.native, raw


def _x(p: Persona, kind: EventKind, n: _Ids, parent: Item | None, brand: str) -> _Shape:
    s, s64, c, us, at = n
    root = parent.thread_id if parent is not None else None
    tweet_id = str(((us // 1000 - _X_EPOCH_MS) << 22) | (c & 0x3FFFFF))  # a snowflake
    created = f"{at:%Y-%m-%dT%H:%M:%S}.{at.microsecond // 1000:03d}Z"
    raw: dict[str, Any] = {
        "id": tweet_id,
        "author_id": p.author.id,
        "created_at": created,
        "conversation_id": root or tweet_id,
    }
    if parent is not None:
        ref = "retweeted" if kind is SHARE else "liked" if kind is LIKE else "replied_to"
        raw["referenced_tweets"] = [{"type": ref, "id": parent.event_id}]
    url = None if kind is LIKE or kind is FOLLOW else f"https://x.com/{p.author.handle}/status/{tweet_id}"
    return tweet_id, url, tweet_id, raw


def _reddit(p: Persona, kind: EventKind, n: _Ids, parent: Item | None, brand: str) -> _Shape:
    s, s64, c, us, at = n
    root = parent.thread_id if parent is not None else None
    b36 = enc(s, B36, 8).lstrip("0") or "0"
    prefix = (
        "vote_"
        if kind is LIKE
        else "sub_"
        if kind is FOLLOW
        else "t1_"
        if kind is COMMENT or kind is REPLY
        else "t3_"
    )
    name = prefix + b36
    raw: dict[str, Any] = {
        "name": name,
        "author_fullname": p.author.id,
        "subreddit": brand,
        "created_utc": us // 1_000_000,
    }
    if parent is None:
        url = None if kind is FOLLOW else f"https://www.reddit.com/r/{brand}/comments/{b36}/"
        return name, url, b36, raw
    raw["parent_id"], raw["link_id"] = parent.event_id, root
    url = None if kind is LIKE or not parent.url else f"{parent.url}comment/{b36}/"
    return name, url, parent.native, raw


def _youtube(p: Persona, kind: EventKind, n: _Ids, parent: Item | None, brand: str) -> _Shape:
    s, s64, c, us, at = n
    published = f"{at:%Y-%m-%dT%H:%M:%S}Z"
    code = enc(s64, B64, 11)
    if parent is None and kind is not FOLLOW:
        raw = {
            "kind": "youtube#video",
            "id": code,
            "snippet": {"channelId": p.author.id, "publishedAt": published},
        }
        return code, f"https://www.youtube.com/watch?v={code}", code, raw
    name = "rating" if kind is LIKE else "subscription" if kind is FOLLOW else "comment"
    item_id = f"Ugz{code}4AaABAg" if name == "comment" else f"{name}_{code}"
    snippet: dict[str, Any] = {"authorChannelId": {"value": p.author.id}, "publishedAt": published}
    if parent is not None:
        snippet["videoId"] = parent.native
        if kind is REPLY:
            snippet["parentId"] = parent.event_id
    url = f"{parent.url}&lc={item_id}" if parent is not None and parent.url and name == "comment" else None
    raw = {"kind": f"youtube#{name}", "id": item_id, "snippet": snippet}
    return item_id, url, parent.native if parent else "", raw


def _facebook(p: Persona, kind: EventKind, n: _Ids, parent: Item | None, brand: str) -> _Shape:
    s, s64, c, us, at = n
    item = str(100_000_000_000_000 + s * 809)
    if parent is None:
        event_id = f"{p.author.id}_{item}"
        url = None if kind is FOLLOW else f"https://www.facebook.com/{p.author.id}/posts/{item}"
    else:
        event_id = f"{parent.native}_{item}"
        url = None if kind is LIKE or not parent.url else f"{parent.url}?comment_id={item}"
    raw = {
        "id": event_id,
        "from": {"id": p.author.id, "name": p.author.display_name},
        "created_time": f"{at:%Y-%m-%dT%H:%M:%S}+0000",
    }
    return event_id, url, item if parent is None else parent.native, raw


def _instagram(p: Persona, kind: EventKind, n: _Ids, parent: Item | None, brand: str) -> _Shape:
    s, s64, c, us, at = n
    root = parent.thread_id if parent is not None else None
    item_id = str(17_900_000_000_000_000 + s * 7_001)
    raw: dict[str, Any] = {
        "id": item_id,
        "username": p.author.handle,
        "timestamp": f"{at:%Y-%m-%dT%H:%M:%S}+0000",
    }
    if parent is None:
        code = enc(s64, B64, 11)
        url = None if kind is FOLLOW else f"https://www.instagram.com/p/{code}/"
        raw["media_type"] = "IMAGE"
        return item_id, url, code, raw
    raw["media"] = {"id": root}
    return item_id, None if kind is LIKE else parent.url, parent.native, raw


PLATFORM_SHAPES = {
    Platform.WEIBO: _weibo,
    Platform.WECHAT: _wechat,
    Platform.WECOM: _wecom,
    Platform.DOUYIN: _douyin,
    Platform.XIAOHONGSHU: _xiaohongshu,
    Platform.ZHIHU: _zhihu,
    Platform.X: _x,
    Platform.REDDIT: _reddit,
    Platform.YOUTUBE: _youtube,
    Platform.FACEBOOK: _facebook,
    Platform.INSTAGRAM: _instagram,
    Platform.OTHER: _wecom,
}
"""The shape function of each platform (WeCom's for ``OTHER``)."""
