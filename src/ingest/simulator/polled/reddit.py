"""A stand-in of the Reddit API the Reddit poller reads (reddit.com/dev/api; OAuth2 "application only"
in reddit-archive/reddit's wiki; things as on its "JSON" page).

``POST /api/v1/access_token`` (on the auth host) takes HTTP basic auth with the app's client id and secret
and ``grant_type=client_credentials`` and answers a bearer token (401 ``{"message": "Unauthorized",
"error": 401}`` otherwise); listings need ``Authorization: bearer <token>``. ``GET /r/{brand}/comments``
lists the brand's community comments (t1), ``GET /search?q=<brand>`` (or ``/r/a+b/search``) the links (t3)
naming the brand; both newest first, ``limit`` (1-100), the next page by ``after`` (the last fullname) and
``data.after`` set while more remain. Ids are base 36 and grow with time. Rendering: a comment -> a t1 on
the brand's thread, a reply -> a t1 under its rendered parent comment (else the thread); a post or mention
-> a t3. Likes, follows and the rest are not listed.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from ingest.contracts import EventKind, SocialEvent
from ingest.simulator.polled.base import Answer, Item, Listing, Request, has_hints, letters

FIRST_ID = 36 ** 6
COMMENTS = frozenset({EventKind.COMMENT, EventKind.REPLY})
LINKS = frozenset({EventKind.POST, EventKind.MENTION})
UNAUTHORIZED = {"message": "Unauthorized", "error": 401}


def base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while number:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
    return out or "0"


def client_id(credential: str) -> str:
    """The client id of the app whose secret is ``credential``."""
    return letters(f"reddit-client:{credential}", 14)


class RedditStandIn:
    """The Reddit stand-in's state: comments and links per brand, tokens issued."""

    def __init__(self) -> None:
        self._comments: dict[str, Listing] = {}
        self._links: dict[str, Listing] = {}
        self._fullnames: dict[str, str] = {}
        self._next = {"t1": FIRST_ID, "t3": FIRST_ID}
        self._tokens: set[str] = set()

    def publish(self, event: SocialEvent) -> tuple[str, ...]:
        brand = event.brand
        if brand is None or not event.text or has_hints(event) or event.kind not in COMMENTS | LINKS:
            return ()
        kind = "t1" if event.kind in COMMENTS else "t3"
        number = self._next[kind]
        self._next[kind] = number + 1
        thing_id = base36(number)
        fullname = f"{kind}_{thing_id}"
        author = event.author.handle or f"user_{letters(event.author.id, 8)}"
        common = {"id": thing_id, "name": fullname, "author": author,
                  "author_fullname": f"t2_{letters('reddit:' + event.author.id, 8)}",
                  "created_utc": float(int(event.occurred_at.astimezone(UTC).timestamp())),
                  "score": event.metrics.likes + 1, "ups": event.metrics.likes + 1, "downs": 0,
                  "stickied": False, "distinguished": None}
        if kind == "t1":
            thread = f"t3_{letters('reddit-thread:' + brand, 6)}"
            parent = self._fullnames.get(event.parent_id or "") if event.kind is EventKind.REPLY else None
            data = {**common, "subreddit": brand, "subreddit_id": f"t5_{letters('sub:' + brand, 5)}",
                    "link_id": thread, "link_title": f"{brand} megathread", "parent_id": parent or thread,
                    "body": event.text, "replies": "",
                    "permalink": f"/r/{brand}/comments/{thread[3:]}/megathread/{thing_id}/"}
            listing = self._comments
        else:
            title, _, rest = event.text.partition("\n")
            data = {**common, "subreddit": "gadgets", "title": title[:300], "selftext": rest.strip(),
                    "permalink": f"/r/gadgets/comments/{thing_id}/post/", "is_self": True, "over_18": False,
                    "url": f"https://www.reddit.com/r/gadgets/comments/{thing_id}/post/",
                    "num_comments": event.metrics.replies}
            listing = self._links
        self._fullnames[event.event_id] = fullname
        listing.setdefault(brand, Listing()).add(Item(number, {"kind": kind, "data": data}, (fullname,)))
        return (fullname,)

    def answer(self, request: Request, brand_of: Mapping[str, str]) -> Answer:
        if request.path.rstrip("/") == "/api/v1/access_token":
            return self._token(request, brand_of)
        if request.headers.get("authorization", "").removeprefix("bearer ") not in self._tokens:
            return Answer(401, UNAUTHORIZED)
        parts = [part for part in request.path.split("/") if part]
        if len(parts) == 3 and parts[0] == "r" and parts[2] == "comments":
            return self._listing(self._comments.get(parts[1].lower()), request.params)
        if parts[-1:] == ["search"]:
            query = request.params.get("q", "").lower()
            brand = next((b for b in sorted(self._links) if b.lower() in query), "")
            return self._listing(self._links.get(brand), request.params)
        return Answer(404, {"message": "Not Found", "error": 404})

    def _token(self, request: Request, brand_of: Mapping[str, str]) -> Answer:
        header = request.headers.get("authorization", "")
        try:
            pair = base64.b64decode(header.removeprefix("Basic ")).decode()
        except ValueError:
            pair = ""
        cid, _, secret = pair.partition(":")
        if secret not in brand_of or client_id(secret) != cid or request.form.get("grant_type") != "client_credentials":
            return Answer(401, UNAUTHORIZED, listing=False)
        token = secrets.token_urlsafe(24)
        self._tokens.add(token)
        return Answer(200, {"access_token": token, "token_type": "bearer", "expires_in": 86400, "scope": "*"},
                      listing=False)

    def _listing(self, listing: Listing | None, params: Mapping[str, str]) -> Answer:
        size = int(params.get("limit", "25"))
        after = params.get("after")
        below = int(after.partition("_")[2], 36) if after else None
        items, more = (listing or Listing()).page(below=below, size=max(1, min(size, 100)))
        return Answer(200, {"kind": "Listing", "data": {
            "after": items[-1].event_ids[0] if more else None, "before": None, "dist": len(items), "modhash": "",
            "geo_filter": "", "children": [item.body for item in items]}})

    def failure(self, status: int, headers: Mapping[str, str], now: datetime) -> Answer:
        extra = dict(headers)
        if status == 429:
            extra = {"x-ratelimit-used": "100", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "1", **extra}
        message = {401: "Unauthorized", 403: "Forbidden", 429: "Too Many Requests"}.get(status, "Internal Server Error")
        return Answer(status, {"message": message, "error": status}, extra)

    def connector(self, brand: str, base_url: str, credential: str) -> dict[str, Any]:
        self._comments.setdefault(brand, Listing())
        self._links.setdefault(brand, Listing())
        return {"client_id": client_id(credential), "client_secret": credential,
                "user_agent": f"scrm-standin/1.0 (by u/{brand})", "subreddits": [brand], "query": brand,
                "base_url": base_url, "auth_url": base_url}

    def pages(self, brand: str, size: int) -> Iterator[tuple[str, Any]]:
        for endpoint, listing in ((f"comments:{brand}", self._comments.get(brand)), ("search", self._links.get(brand))):
            params = {"limit": str(size)}
            while True:
                body = self._listing(listing, params).body
                yield endpoint, body
                if body["data"]["after"] is None:
                    break
                params = {**params, "after": body["data"]["after"]}
