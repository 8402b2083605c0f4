"""The X API v2 poller: recent search and the mentions timeline, with an app's bearer token.

Requests (developer.x.com/en/docs/x-api/tweets/search/api-reference/get-tweets-search-recent,
.../timelines/api-reference/get-users-id-mentions): ``GET /2/tweets/search/recent?query=...`` and ``GET
/2/users/{user_id}/mentions``, both with ``tweet.fields``, ``expansions=author_id``,
``user.fields=public_metrics,verified``, ``max_results`` and ``since_id`` = the watermark (X returns only
newer tweets); the drain's next pages by ``next_token`` (search) / ``pagination_token`` (mentions) from
``meta.next_token``, keeping the same ``since_id``. The drain's watermark is its first page's
``meta.newest_id``. ``Authorization: Bearer <token>``. 429 answers carry ``x-rate-limit-reset``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import httpx

from ingest.adapters import x
from ingest.adapters.base import Skipped
from ingest.adapters.polled import PageResult
from ingest.polling.spec import Cursor, Fetch, ListingEndpoint, PageRequest, Verdict

TWEET_FIELDS = "author_id,conversation_id,created_at,lang,public_metrics,referenced_tweets,note_tweet"
USER_FIELDS = "public_metrics,verified,username,name"


def _params(config: x.XConfig, page_param: str, extra: Mapping[str, str], cursor: Cursor) -> dict[str, str]:
    params = {**extra, "tweet.fields": TWEET_FIELDS, "expansions": "author_id", "user.fields": USER_FIELDS,
              "max_results": str(config.max_results)}
    if cursor.watermark:
        params["since_id"] = cursor.watermark
    if cursor.page:
        params[page_param] = cursor.page
    return params


@dataclass(frozen=True)
class XPoller:
    """The ``Poller`` of one X connector."""

    config: x.XConfig

    @property
    def endpoints(self) -> tuple[ListingEndpoint, ...]:
        config, base = self.config, self.config.base_url.rstrip("/")
        read = partial(_read, config)
        found = []
        if config.query:
            found.append(ListingEndpoint("search", f"{base}/2/tweets/search/recent",
                                         partial(_params, config, "next_token", {"query": config.query}), read))
        if config.user_id:
            found.append(ListingEndpoint("mentions", f"{base}/2/users/{config.user_id}/mentions",
                                         partial(_params, config, "pagination_token", {}), read))
        return tuple(found)

    @property
    def unavailable(self) -> tuple[Skipped, ...]:
        missing = []
        if not self.config.query:
            missing.append(Skipped("search", "no query in the connector's config"))
        if not self.config.user_id:
            missing.append(Skipped("mentions", "no user_id in the connector's config"))
        return tuple(missing)

    def authorize(self, request: PageRequest, fetch: Fetch, now: datetime) -> PageRequest:
        return request.with_headers(Authorization=f"Bearer {self.config.bearer_token.get_secret_value()}")

    def forget_credentials(self) -> bool:
        return False

    def verdict(self, response: httpx.Response, now: datetime) -> Verdict | None:
        return None


def _read(config: x.XConfig, page: Any, received_at: datetime) -> PageResult:
    return x.events_from_page(page, config, received_at)


def poller(config: x.XConfig) -> XPoller:
    """The factory the registry lists."""
    return XPoller(config)
