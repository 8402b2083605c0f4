"""A stand-in of the X API v2 listings the X poller reads (developer.x.com/en/docs/x-api/tweets/search/
api-reference/get-tweets-search-recent and .../timelines/api-reference/get-users-id-mentions).

``GET /2/tweets/search/recent?query=...`` lists the tweets of the brand named in the query, ``GET
/2/users/{id}/mentions`` those mentioning the brand's account (the same tweets: a brand's tweets all
mention it); both with ``since_id``, ``max_results`` (10-100 / 5-100) and the next page by ``next_token`` /
``pagination_token``, newest first, ``includes.users`` for ``expansions=author_id``. Ids are snowflakes
(they grow with time). ``Authorization: Bearer <token>`` must be the app's token: 401 otherwise, in X's
problem shape. Rendering: a brand's post or mention -> a tweet; a reply -> a tweet ``replied_to`` its
parent (the rendered parent, else the brand's pinned tweet); a share -> ``retweeted`` (no text) or
``quoted`` (with text). Likes, follows, chats and events without a brand are not listed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from ingest.contracts import EventKind, SocialEvent
from ingest.simulator.polled.base import Answer, Item, Listing, Request, digits, has_hints, unix

TWITTER_EPOCH_MS = 1_288_834_974_657
LISTED = frozenset({EventKind.POST, EventKind.MENTION, EventKind.REPLY, EventKind.SHARE})
_PROBLEMS = {
    401: ("Unauthorized", "Unauthorized", "about:blank"),
    429: ("Too Many Requests", "Too Many Requests", "about:blank"),
    400: ("Invalid Request", "One or more parameters to your request was invalid.",
          "https://api.twitter.com/2/problems/invalid-request"),
}


def account_id(brand: str) -> str:
    """The numeric user id of the brand's X account."""
    return digits(f"x-account:{brand}", 10)


class XStandIn:
    """The X stand-in's state: a listing per brand."""

    def __init__(self) -> None:
        self._listings: dict[str, Listing] = {}
        self._tweet_ids: dict[str, str] = {}
        self._last = 0

    def publish(self, event: SocialEvent) -> tuple[str, ...]:
        if (event.brand is None or event.kind not in LISTED or has_hints(event)
                or (not event.text and event.kind is not EventKind.SHARE)):
            return ()
        created = event.occurred_at.astimezone(UTC)
        tweet_id = max(((int(created.timestamp() * 1000) - TWITTER_EPOCH_MS) << 22), self._last + 1)
        self._last = tweet_id
        own = str(tweet_id)
        parent = self._tweet_ids.get(event.parent_id or "", digits(f"x-pinned:{event.brand}", 19))
        tweet: dict[str, Any] = {
            "id": own, "edit_history_tweet_ids": [own], "author_id": digits(f"x:{event.author.id}", 18),
            "created_at": created.strftime("%Y-%m-%dT%H:%M:%S.") + f"{created.microsecond // 1000:03d}Z",
            "conversation_id": own, "lang": event.lang or "und",
            "text": event.text or f"RT @{event.brand}: …",
            "public_metrics": {"retweet_count": event.metrics.shares, "reply_count": event.metrics.replies,
                               "like_count": event.metrics.likes, "quote_count": 0, "bookmark_count": 0,
                               "impression_count": 10 * (event.metrics.likes + 1)},
        }
        if event.kind is EventKind.REPLY:
            tweet |= {"referenced_tweets": [{"type": "replied_to", "id": parent}], "conversation_id": parent}
        elif event.kind is EventKind.SHARE:
            tweet["referenced_tweets"] = [{"type": "quoted" if event.text else "retweeted", "id": parent}]
        handle = event.author.handle or f"user{tweet['author_id'][-8:]}"
        user = {"id": tweet["author_id"], "name": event.author.display_name or handle, "username": handle,
                "verified": event.author.verified,
                "public_metrics": {"followers_count": event.author.followers or 0, "following_count": 0,
                                   "tweet_count": 1, "listed_count": 0, "like_count": 0}}
        self._tweet_ids[event.event_id] = own
        self._listings.setdefault(event.brand, Listing()).add(Item(tweet_id, {"tweet": tweet, "user": user}, (own,)))
        return (own,)

    def answer(self, request: Request, brand_of: Mapping[str, str]) -> Answer:
        token = request.headers.get("authorization", "")
        if not token.startswith("Bearer ") or token[len("Bearer "):] not in brand_of:
            return self.failure(401, {}, datetime.now(UTC))
        parts = request.path.strip("/").split("/")
        if parts == ["2", "tweets", "search", "recent"]:
            query = request.params.get("query", "").lower()
            brand = next((b for b in sorted(self._listings) if b.lower() in query), None)
            return self._page(brand, request.params, "next_token", low=10)
        if len(parts) == 4 and parts[:2] == ["2", "users"] and parts[3] == "mentions":
            brand = next((b for b in sorted(self._listings) if account_id(b) == parts[2]), None)
            return self._page(brand, request.params, "pagination_token", low=5)
        return Answer(404, {"title": "Not Found Error", "type": "https://api.twitter.com/2/problems/resource-not-found",
                            "detail": "Could not find the resource", "status": 404})

    def _page(self, brand: str | None, params: Mapping[str, str], token_param: str, *, low: int) -> Answer:
        size = int(params.get("max_results", "10"))
        if not low <= size <= 100:
            return self.failure(400, {}, datetime.now(UTC))
        listing = self._listings.get(brand or "") or Listing()
        since = params.get("since_id")
        token = params.get(token_param)
        items, more = listing.page(above=int(since) if since else None, below=int(token, 16) if token else None,
                                   size=size)
        if not items:
            return Answer(200, {"meta": {"result_count": 0}})
        users = {item.body["user"]["id"]: item.body["user"] for item in items}
        meta: dict[str, Any] = {"newest_id": items[0].body["tweet"]["id"], "oldest_id": items[-1].body["tweet"]["id"],
                                "result_count": len(items)}
        if more:
            meta["next_token"] = format(items[-1].position, "x")
        return Answer(200, {"data": [item.body["tweet"] for item in items], "includes": {"users": list(users.values())},
                            "meta": meta})

    def failure(self, status: int, headers: Mapping[str, str], now: datetime) -> Answer:
        title, detail, kind = _PROBLEMS.get(status, ("Service Unavailable", "Service Unavailable", "about:blank"))
        extra = dict(headers)
        if status == 429:
            extra = {"x-rate-limit-limit": "60", "x-rate-limit-remaining": "0",
                     "x-rate-limit-reset": str(unix(now) + 1), **extra}
        return Answer(status, {"title": title, "detail": detail, "type": kind, "status": status}, extra)

    def connector(self, brand: str, base_url: str, credential: str) -> dict[str, Any]:
        self._listings.setdefault(brand, Listing())
        return {"bearer_token": credential, "query": f"{brand} OR @{brand}", "user_id": account_id(brand),
                "base_url": base_url}

    def pages(self, brand: str, size: int) -> Iterator[tuple[str, Any]]:
        """The recent search's pages (the mentions timeline lists the same tweets)."""
        params = {"max_results": str(size)}
        while True:
            body = self._page(brand, params, "next_token", low=10).body
            yield "search", body
            token = body["meta"].get("next_token")
            if token is None:
                return
            params = {**params, "next_token": token}
