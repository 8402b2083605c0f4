"""The YouTube Data API v3 poller: comment threads of a channel and of single videos, with an API key.

Requests (developers.google.com/youtube/v3/docs/commentThreads/list): ``GET
{base_url}/youtube/v3/commentThreads?part=snippet,replies&allThreadsRelatedToChannelId=<channel>`` (or
``videoId=<video>``), ``order=time``, ``textFormat=plainText``, ``maxResults``, the drain's next pages by
``pageToken`` = ``nextPageToken``; the key in the ``x-goog-api-key`` header (Google APIs accept it there,
so it stays out of URLs). The API has no "since" parameter: the watermark is the latest ``publishedAt``
delivered (with the ids delivered at that second, as timestamps are to the second); a drain skips comments
at or before it as already polled and ends at the first top-level comment at or before it. Replies the
thread resource does not include, and replies to threads older than the watermark, are not fetched
(``comments.list`` by ``parentId`` would, at one quota unit a call).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import httpx

from ingest.adapters import youtube
from ingest.adapters.base import Skipped
from ingest.adapters.polled import PageResult
from ingest.contracts import EventKind
from ingest.polling.spec import Cursor, Fetch, ListingEndpoint, PageRequest, Verdict


def _instant(event_time: datetime) -> str:
    return youtube.utc_iso(event_time)


def _known(result: PageResult, cursor: Cursor) -> tuple[PageResult, bool]:
    if cursor.watermark is None:
        return result, False
    fresh, old, reached = [], [], False
    for event in result.events:
        instant = _instant(event.occurred_at)
        if instant < cursor.watermark or (instant == cursor.watermark and event.event_id in cursor.seen):
            old.append(Skipped(event.event_id, "already polled (at or before the cursor)"))
            reached = reached or event.kind is EventKind.COMMENT
        else:
            fresh.append(event)
    return PageResult(tuple(fresh), result.skipped + tuple(old), result.invalid, result.next_page,
                      result.newest), reached


def _merge(cursor: Cursor, result: PageResult) -> tuple[str | None, tuple[str, ...]]:
    """The latest instant delivered in the drain and the ids delivered at it."""
    instants = [_instant(event.occurred_at) for event in result.events]
    newest = max([stamp for stamp in (cursor.pending, *instants) if stamp is not None], default=None)
    if newest is None:
        return None, ()
    carried = cursor.pending_seen if cursor.pending == newest else ()
    at_newest = tuple(event.event_id for event, stamp in zip(result.events, instants, strict=True) if stamp == newest)
    if cursor.page is None and cursor.watermark == newest:  # a drain that only found more at the old mark
        carried = (*cursor.seen, *carried)
    return newest, tuple(dict.fromkeys((*carried, *at_newest)))


def _params(config: youtube.YouTubeConfig, scope: dict[str, str], cursor: Cursor) -> dict[str, str]:
    params = {**scope, "part": "snippet,replies", "order": "time", "textFormat": "plainText",
              "maxResults": str(config.max_results)}
    if cursor.page:
        params["pageToken"] = cursor.page
    return params


def _read(config: youtube.YouTubeConfig, page: Any, received_at: datetime) -> PageResult:
    return youtube.events_from_page(page, config, received_at)


@dataclass(frozen=True)
class YouTubePoller:
    """The ``Poller`` of one YouTube connector."""

    config: youtube.YouTubeConfig

    @property
    def endpoints(self) -> tuple[ListingEndpoint, ...]:
        config = self.config
        url = f"{config.base_url.rstrip('/')}/youtube/v3/commentThreads"
        scopes = ([("channel", {"allThreadsRelatedToChannelId": config.channel_id})] if config.channel_id else [])
        scopes += [(f"video:{video}", {"videoId": video}) for video in config.video_ids]
        return tuple(ListingEndpoint(name, url, partial(_params, config, scope), partial(_read, config),
                                     known=_known, merge=_merge) for name, scope in scopes)

    @property
    def unavailable(self) -> tuple[Skipped, ...]:
        if self.config.channel_id or self.config.video_ids:
            return ()
        return (Skipped("commentThreads", "neither channel_id nor video_ids in the connector's config"),)

    def authorize(self, request: PageRequest, fetch: Fetch, now: datetime) -> PageRequest:
        return request.with_headers(**{"x-goog-api-key": self.config.api_key.get_secret_value()})

    def forget_credentials(self) -> bool:
        return False

    def verdict(self, response: httpx.Response, now: datetime) -> Verdict | None:
        return None


def poller(config: youtube.YouTubeConfig) -> YouTubePoller:
    """The factory the registry lists."""
    return YouTubePoller(config)
