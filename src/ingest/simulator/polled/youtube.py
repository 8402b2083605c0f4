"""A stand-in of YouTube Data API v3 ``commentThreads.list`` (developers.google.com/youtube/v3/docs/
commentThreads/list), as the YouTube poller calls it.

``GET /youtube/v3/commentThreads?part=snippet,replies`` with ``allThreadsRelatedToChannelId`` (the brand's
channel) or ``videoId`` (the brand's video), ``order=time``, ``maxResults`` (1-100) and ``pageToken`` =
the previous answer's ``nextPageToken``; newest thread first. The API key (``x-goog-api-key`` header or
``key``) must be the project's: 400 ``API key not valid`` in Google's error shape otherwise. Every listed
simulated comment, reply or post with text becomes a top-level comment thread on the brand's video (a reply
threaded under an older comment is a gap of the real API's thread listing the poller documents, so the
stand-in does not produce one). ``publishedAt`` never goes back in time within a brand's listing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from ingest.contracts import EventKind, SocialEvent
from ingest.simulator.polled.base import Answer, Item, Listing, Request, has_hints, letters

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
LISTED = frozenset({EventKind.COMMENT, EventKind.REPLY, EventKind.POST, EventKind.MENTION})


def channel_id(brand: str) -> str:
    return "UC" + letters(f"yt-channel:{brand}", 22, ALPHABET)


def video_id(brand: str) -> str:
    return letters(f"yt-video:{brand}", 11, ALPHABET)


def _error(status: int, message: str, reason: str) -> dict[str, Any]:
    return {"error": {"code": status, "message": message,
                      "errors": [{"message": message, "domain": "youtube.commentThread", "reason": reason}]}}


class YouTubeStandIn:
    """The YouTube stand-in's state: a listing of threads per brand."""

    def __init__(self) -> None:
        self._listings: dict[str, Listing] = {}
        self._last: dict[str, int] = {}
        self._count = 0

    def publish(self, event: SocialEvent) -> tuple[str, ...]:
        brand = event.brand
        if brand is None or not event.text or has_hints(event) or event.kind not in LISTED:
            return ()
        listing = self._listings.setdefault(brand, Listing())
        second = max(int(event.occurred_at.astimezone(UTC).timestamp()), self._last.get(brand, 0))
        self._last[brand] = second
        position = max(second << 20, listing.last_position + 1)
        self._count += 1
        comment_id = "Ugx" + letters(f"yt-comment:{event.event_id}:{self._count}", 23, ALPHABET)
        stamp = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        name = f"@{event.author.handle}" if event.author.handle else (event.author.display_name or "viewer")
        author = "UC" + letters(f"yt-author:{event.author.id}", 22, ALPHABET)
        comment = {"kind": "youtube#comment", "etag": letters(comment_id, 27, ALPHABET), "id": comment_id, "snippet": {
            "channelId": channel_id(brand), "videoId": video_id(brand), "textDisplay": event.text,
            "textOriginal": event.text, "authorDisplayName": name,
            "authorProfileImageUrl": "https://yt3.ggpht.com/default-user=s48", "authorChannelUrl":
            f"http://www.youtube.com/channel/{author}", "authorChannelId": {"value": author}, "canRate": True,
            "viewerRating": "none", "likeCount": event.metrics.likes, "publishedAt": stamp, "updatedAt": stamp}}
        thread = {"kind": "youtube#commentThread", "etag": letters(comment_id + "t", 27, ALPHABET), "id": comment_id,
                  "snippet": {"channelId": channel_id(brand), "videoId": video_id(brand), "topLevelComment": comment,
                              "canReply": True, "totalReplyCount": 0, "isPublic": True}}
        listing.add(Item(position, thread, (comment_id,)))
        return (comment_id,)

    def answer(self, request: Request, brand_of: Mapping[str, str]) -> Answer:
        key = request.headers.get("x-goog-api-key") or request.params.get("key", "")
        if key not in brand_of:
            return Answer(400, _error(400, "API key not valid. Please pass a valid API key.", "badRequest"))
        if request.path.rstrip("/") != "/youtube/v3/commentThreads":
            return Answer(404, _error(404, "Not Found", "notFound"))
        channel, video = request.params.get("allThreadsRelatedToChannelId"), request.params.get("videoId")
        brand = next((b for b in sorted(self._listings) if channel == channel_id(b) or video == video_id(b)), None)
        if brand is None:
            return Answer(404, _error(404, "The video or channel could not be found.", "videoNotFound"))
        return self._page(brand, request.params)

    def _page(self, brand: str, params: Mapping[str, str]) -> Answer:
        size = int(params.get("maxResults", "20"))
        if not 1 <= size <= 100:
            return Answer(400, _error(400, "Invalid value for maxResults.", "invalidParameter"))
        token = params.get("pageToken")
        items, more = self._listings[brand].page(below=int(token, 16) if token else None, size=size)
        page: dict[str, Any] = {"kind": "youtube#commentThreadListResponse", "etag": "standin",
                                "pageInfo": {"totalResults": len(items), "resultsPerPage": size},
                                "items": [item.body for item in items]}
        if more:
            page["nextPageToken"] = format(items[-1].position, "x")
        return Answer(200, page)

    def failure(self, status: int, headers: Mapping[str, str], now: datetime) -> Answer:
        reason = {403: "quotaExceeded", 429: "rateLimitExceeded"}.get(status, "backendError")
        return Answer(status, _error(status, reason, reason), dict(headers))

    def connector(self, brand: str, base_url: str, credential: str) -> dict[str, Any]:
        self._listings.setdefault(brand, Listing())
        return {"api_key": credential, "channel_id": channel_id(brand), "base_url": base_url}

    def pages(self, brand: str, size: int) -> Iterator[tuple[str, Any]]:
        self._listings.setdefault(brand, Listing())
        params = {"maxResults": str(size)}
        while True:
            body = self._page(brand, params).body
            yield "channel", body
            if "nextPageToken" not in body:
                return
            params = {**params, "pageToken": body["nextPageToken"]}
