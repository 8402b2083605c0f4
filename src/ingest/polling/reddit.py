"""The Reddit poller: new comments of subreddits and a search, application-only OAuth.

Requests (reddit.com/dev/api, github.com/reddit-archive/reddit/wiki/OAuth2): a token from ``POST
{auth_url}/api/v1/access_token`` with HTTP basic auth (client id : secret) and
``grant_type=client_credentials`` -> ``{"access_token", "token_type": "bearer", "expires_in"}``, cached until
a minute before it expires (and fetched again after a 401); then ``GET {base_url}/r/{sub}/comments`` and
``GET {base_url}/search?q=...&sort=new&type=link`` (``/r/a+b/search?restrict_sr=1`` with
``search_subreddits``), ``limit``, ``raw_json=1``, ``Authorization: bearer <token>`` and the connector's
``User-Agent`` on every call. Listings are newest first: a drain starts at the top and follows ``after``
until it meets a thing at or below the watermark (the newest fullname of the last drain; fullnames of one
kind grow with time, base 36), which ends it; those things are skipped as already polled. (``before``
would return nothing once the anchor thing is deleted, so it is not used.) ``x-ratelimit-reset`` is in
seconds.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import httpx

from ingest.adapters import reddit
from ingest.adapters.base import Skipped
from ingest.adapters.polled import PageResult
from ingest.exceptions import PlatformApiError
from ingest.polling.spec import Cursor, Fetch, ListingEndpoint, PageRequest, Verdict

TOKEN_MARGIN = timedelta(minutes=1)


def _position(fullname: str) -> tuple[str, int] | None:
    """``t1_k00001`` as ``("t1", <the id in base 36>)``; ``None`` when it is not a fullname."""
    kind, _, thing_id = fullname.partition("_")
    try:
        return kind, int(thing_id, 36)
    except ValueError:
        return None


def _known(result: PageResult, cursor: Cursor) -> tuple[PageResult, bool]:
    """Drop the things at or below the watermark; reaching one ends the drain."""
    mark = _position(cursor.watermark) if cursor.watermark else None
    if mark is None:
        return result, False
    fresh, old = [], []
    for event in result.events:
        position = _position(event.event_id)
        if position is not None and position[0] == mark[0] and position[1] <= mark[1]:
            old.append(Skipped(event.event_id, "already polled (at or below the cursor)"))
        else:
            fresh.append(event)
    newest = _position(result.newest) if result.newest else None
    reached = bool(old) or (newest is not None and newest[0] == mark[0] and newest[1] <= mark[1])
    return PageResult(tuple(fresh), result.skipped + tuple(old), result.invalid, result.next_page,
                      result.newest), reached


def _params(config: reddit.RedditConfig, extra: dict[str, str], cursor: Cursor) -> dict[str, str]:
    params = {**extra, "limit": str(config.limit), "raw_json": "1"}
    if cursor.page:
        params["after"] = cursor.page
    return params


def _read(config: reddit.RedditConfig, search: bool, page: Any, received_at: datetime) -> PageResult:
    return reddit.events_from_page(page, config, received_at, search=search)


@dataclass
class RedditPoller:
    """The ``Poller`` of one Reddit connector; caches its OAuth token (not thread-safe)."""

    config: reddit.RedditConfig
    _token: tuple[str, datetime] | None = field(default=None, repr=False)

    @property
    def endpoints(self) -> tuple[ListingEndpoint, ...]:
        config, base = self.config, self.config.base_url.rstrip("/")
        found = [
            ListingEndpoint(f"comments:{sub}", f"{base}/r/{sub}/comments", partial(_params, config, {}),
                            partial(_read, config, False), known=_known)
            for sub in config.subreddits
        ]
        if config.query:
            where = f"/r/{'+'.join(config.search_subreddits)}/search" if config.search_subreddits else "/search"
            extra = {"q": config.query, "sort": "new", "type": "link"}
            if config.search_subreddits:
                extra["restrict_sr"] = "1"
            found.append(ListingEndpoint("search", f"{base}{where}", partial(_params, config, extra),
                                         partial(_read, config, True), known=_known))
        return tuple(found)

    @property
    def unavailable(self) -> tuple[Skipped, ...]:
        missing = []
        if not self.config.subreddits:
            missing.append(Skipped("comments", "no subreddits in the connector's config"))
        if not self.config.query:
            missing.append(Skipped("search", "no query in the connector's config"))
        return tuple(missing)

    def authorize(self, request: PageRequest, fetch: Fetch, now: datetime) -> PageRequest:
        if self._token is None or now >= self._token[1]:
            self._token = self._fetch_token(fetch, now)
        return request.with_headers(Authorization=f"bearer {self._token[0]}", **{"User-Agent": self.config.user_agent})

    def _fetch_token(self, fetch: Fetch, now: datetime) -> tuple[str, datetime]:
        pair = f"{self.config.client_id}:{self.config.client_secret.get_secret_value()}".encode()
        answer = fetch(PageRequest(
            f"{self.config.auth_url.rstrip('/')}/api/v1/access_token", method="POST",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": "Basic " + base64.b64encode(pair).decode(), "User-Agent": self.config.user_agent},
        ))
        token = answer.get("access_token") if isinstance(answer, dict) else None
        lifetime = answer.get("expires_in") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token or not isinstance(lifetime, int | float) or lifetime <= 0:
            raise PlatformApiError("reddit", -1, "access_token answered without access_token/expires_in")
        keep = max(timedelta(seconds=lifetime) - TOKEN_MARGIN, timedelta(seconds=lifetime / 2))
        return token, now + keep

    def forget_credentials(self) -> bool:
        self._token = None
        return True

    def verdict(self, response: httpx.Response, now: datetime) -> Verdict | None:
        return None


def poller(config: reddit.RedditConfig) -> RedditPoller:
    """The factory the registry lists."""
    return RedditPoller(config)
