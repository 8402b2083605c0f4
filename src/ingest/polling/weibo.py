"""The Weibo open API poller: comments to the brand account and statuses that mention it, with the account's
OAuth2 access token.

Requests (open.weibo.com/wiki/2/comments/to_me, open.weibo.com/wiki/2/statuses/mentions): ``GET
{base_url}/2/comments/to_me.json`` and ``GET {base_url}/2/statuses/mentions.json`` with ``count``,
``since_id`` = the watermark (Weibo returns only newer items) and, for the drain's next pages, ``max_id`` =
one below the smallest id so far; the drain ends at an empty page, and its watermark is its first page's
largest id. The token travels as ``Authorization: OAuth2 <token>`` (Weibo's documented header form), not in
the URL. Weibo answers errors as ``{"error", "error_code", "request"}``: 10022-10024 (IP / user / per-API
hourly rate limit) wait for the next full hour; 21301, 21314-21319, 21327, 21332 and 21501 (authorization
failed, token expired, revoked or invalid) refuse the connector.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import httpx

from ingest.adapters import weibo
from ingest.adapters.base import Skipped
from ingest.adapters.polled import PageResult
from ingest.polling.spec import Cursor, Fetch, ListingEndpoint, PageRequest, Refuse, Verdict, Wait

RATE_LIMITED = frozenset({10022, 10023, 10024})
TOKEN_REFUSED = frozenset({21301, 21314, 21315, 21316, 21317, 21318, 21319, 21327, 21332, 21501})


def _params(config: weibo.WeiboConfig, cursor: Cursor) -> dict[str, str]:
    params = {"count": str(config.count)}
    if cursor.watermark:
        params["since_id"] = cursor.watermark
    if cursor.page:
        params["max_id"] = cursor.page
    return params


def _read(config: weibo.WeiboConfig, page: Any, received_at: datetime) -> PageResult:
    return weibo.events_from_page(page, config, received_at)


@dataclass(frozen=True)
class WeiboPoller:
    """The ``Poller`` of one Weibo connector."""

    config: weibo.WeiboConfig

    @property
    def endpoints(self) -> tuple[ListingEndpoint, ...]:
        config, base = self.config, self.config.base_url.rstrip("/")
        params, read = partial(_params, config), partial(_read, config)
        found = []
        if config.comments_to_me:
            found.append(ListingEndpoint("comments_to_me", f"{base}/2/comments/to_me.json", params, read))
        if config.mentions:
            found.append(ListingEndpoint("mentions", f"{base}/2/statuses/mentions.json", params, read))
        return tuple(found)

    @property
    def unavailable(self) -> tuple[Skipped, ...]:
        missing = []
        if not self.config.comments_to_me:
            missing.append(Skipped("comments_to_me", "comments_to_me = false in the connector's config"))
        if not self.config.mentions:
            missing.append(Skipped("mentions", "mentions = false in the connector's config"))
        return tuple(missing)

    def authorize(self, request: PageRequest, fetch: Fetch, now: datetime) -> PageRequest:
        return request.with_headers(Authorization=f"OAuth2 {self.config.access_token.get_secret_value()}")

    def forget_credentials(self) -> bool:
        return False

    def verdict(self, response: httpx.Response, now: datetime) -> Verdict | None:
        """Weibo's ``error_code`` decides over the HTTP status (a rate limit comes as 403, not 429)."""
        if response.status_code < 400:
            return None
        try:
            body = response.json()
        except ValueError:
            return None
        code = body.get("error_code") if isinstance(body, dict) else None
        if not isinstance(code, int):
            return None
        reason = f"Weibo error {code}: {body.get('error', '')}"
        if code in RATE_LIMITED:
            return Wait(3600 - now.timestamp() % 3600, reason)
        if code in TOKEN_REFUSED:
            return Refuse(reason, auth=True)
        return None


def poller(config: weibo.WeiboConfig) -> WeiboPoller:
    """The factory the registry lists."""
    return WeiboPoller(config)
