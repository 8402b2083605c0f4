"""A stand-in of the Weibo open API listings the Weibo poller reads (open.weibo.com/wiki/2/comments/to_me,
open.weibo.com/wiki/2/statuses/mentions).

``GET /2/comments/to_me.json`` lists the comments to the brand's account, ``GET /2/statuses/mentions.json``
the statuses mentioning it; both newest first, ``count`` (1-200), ``since_id`` (only newer ids) and
``max_id`` (at most this id: the next page), answered ``{"comments" | "statuses": [...], "total_number",
...}``. The access token (``Authorization: OAuth2 <token>`` or ``access_token``) selects the brand; a wrong
one answers 403 ``{"error": "invalid_access_token", "error_code": 21332, "request": ...}``. Ids are numeric
and grow with time. Rendering: a comment or review -> a comment on the brand's latest status, a reply -> a
comment with ``reply_comment`` (its rendered parent); a post, mention or share with text -> a status.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from ingest.contracts import EventKind, SocialEvent
from ingest.simulator.polled.base import Answer, Item, Listing, Request, digits, has_hints

CHINA = timezone(timedelta(hours=8))
COMMENTS = frozenset({EventKind.COMMENT, EventKind.REPLY, EventKind.REVIEW})
STATUSES = frozenset({EventKind.POST, EventKind.MENTION, EventKind.SHARE})
FIRST_COMMENT, FIRST_STATUS = 5_000_000_000_000_000, 4_900_000_000_000_000
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def weibo_created_at(at: datetime) -> str:
    """``Tue May 31 17:46:55 +0800 2011``, in Beijing time, without the process's locale."""
    local = at.astimezone(CHINA)
    return f"{_DAYS[local.weekday()]} {_MONTHS[local.month - 1]} {local:%d %H:%M:%S} +0800 {local.year}"


def account_uid(brand: str) -> str:
    return digits(f"weibo-account:{brand}", 10)


def _user(uid: str, event: SocialEvent) -> dict[str, Any]:
    handle = event.author.handle or f"用户{uid[-6:]}"
    return {"id": int(uid), "idstr": uid, "screen_name": handle, "name": event.author.display_name or handle,
            "province": "11", "city": "5", "location": "北京", "followers_count": event.author.followers or 0,
            "friends_count": 0, "statuses_count": 1, "verified": event.author.verified, "gender": "n"}


class WeiboStandIn:
    """The Weibo stand-in's state: comments and statuses per brand."""

    def __init__(self) -> None:
        self._comments: dict[str, Listing] = {}
        self._statuses: dict[str, Listing] = {}
        self._rendered: dict[str, dict[str, Any]] = {}
        self._next = {"comments": FIRST_COMMENT, "statuses": FIRST_STATUS}

    def publish(self, event: SocialEvent) -> tuple[str, ...]:
        brand = event.brand
        if brand is None or not event.text or has_hints(event) or event.kind not in COMMENTS | STATUSES:
            return ()
        which = "comments" if event.kind in COMMENTS else "statuses"
        number = self._next[which]
        self._next[which] = number + 1
        uid = digits(f"weibo:{event.author.id}", 10)
        item: dict[str, Any] = {"created_at": weibo_created_at(event.occurred_at), "id": number, "idstr": str(number),
                                "mid": str(number), "text": event.text, "source": '<a href="https://weibo.com">微博 weibo.com</a>',
                                "user": _user(uid, event)}
        if which == "comments":
            brand_status = FIRST_STATUS - 1 - int(digits(f"weibo-status:{brand}", 6))
            item["status"] = {"created_at": item["created_at"], "id": brand_status, "idstr": str(brand_status),
                              "text": f"{brand} 新品发布", "user": {"id": int(account_uid(brand)),
                                                                 "idstr": account_uid(brand), "screen_name": brand}}
            parent = self._rendered.get(event.parent_id or "") if event.kind is EventKind.REPLY else None
            if parent is not None and "status" in parent:
                item["reply_comment"] = {k: parent[k] for k in ("created_at", "id", "idstr", "text", "user")}
            listing = self._comments
        else:
            item |= {"favorited": False, "truncated": False, "reposts_count": event.metrics.shares,
                     "comments_count": event.metrics.replies, "attitudes_count": event.metrics.likes}
            listing = self._statuses
        self._rendered[event.event_id] = item
        listing.setdefault(brand, Listing()).add(Item(number, item, (str(number),)))
        return (str(number),)

    def answer(self, request: Request, brand_of: Mapping[str, str]) -> Answer:
        token = request.headers.get("authorization", "").removeprefix("OAuth2 ") or request.params.get("access_token", "")
        path = request.path.rstrip("/")
        if token not in brand_of:
            return Answer(403, {"error": "invalid_access_token", "error_code": 21332, "request": path})
        brand = brand_of[token]
        if path == "/2/comments/to_me.json":
            return self._page("comments", self._comments.get(brand), request.params)
        if path == "/2/statuses/mentions.json":
            return self._page("statuses", self._statuses.get(brand), request.params)
        return Answer(404, {"error": "Request Api not found!", "error_code": 10020, "request": path})

    def _page(self, name: str, listing: Listing | None, params: Mapping[str, str]) -> Answer:
        size = max(1, min(int(params.get("count", "50")), 200))
        since, most = params.get("since_id"), params.get("max_id")
        items, _ = (listing or Listing()).page(above=int(since) if since and since != "0" else None,
                                               below=int(most) + 1 if most and most != "0" else None, size=size)
        return Answer(200, {name: [item.body for item in items], "hasvisible": False, "previous_cursor": 0,
                            "next_cursor": items[-1].position - 1 if items else 0, "total_number": len(items)})

    def failure(self, status: int, headers: Mapping[str, str], now: datetime) -> Answer:
        if status == 429:
            return Answer(403, {"error": "User requests out of rate limit!", "error_code": 10023, "request": ""},
                          dict(headers))
        return Answer(status, {"error": "system error!", "error_code": 10001, "request": ""}, dict(headers))

    def connector(self, brand: str, base_url: str, credential: str) -> dict[str, Any]:
        self._comments.setdefault(brand, Listing())
        self._statuses.setdefault(brand, Listing())
        return {"access_token": credential, "uid": account_uid(brand), "base_url": base_url}

    def pages(self, brand: str, size: int) -> Iterator[tuple[str, Any]]:
        for endpoint, name, listing in (("comments_to_me", "comments", self._comments.get(brand)),
                                        ("mentions", "statuses", self._statuses.get(brand))):
            params = {"count": str(size)}
            while True:
                body = self._page(name, listing, params).body
                yield endpoint, body
                if not body[name]:
                    break
                params = {**params, "max_id": str(body[name][-1]["id"] - 1)}
