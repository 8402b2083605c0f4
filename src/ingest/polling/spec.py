"""What a platform's poller module describes and the engine runs: requests, cursors, verdicts on answers.

A platform module (``ingest.polling.x`` ...) builds a ``Poller`` from its connector config: the endpoints
the config enables (each a ``ListingEndpoint``: path, params from the cursor, the pure adapter, how the
watermark moves), the endpoints it skips for missing config (with the reason), how to add credentials to a
request and how to read the platform's own error answers. Everything here is pure; ``ingest.polling.engine``
does the IO.

One cursor per (connector, endpoint), stored after the events of each page are durable:
- ``watermark``: everything at or before it was delivered (X / Weibo ``since_id``, a Reddit fullname, a
  YouTube ``publishedAt``); ``seen`` the ids delivered at exactly that instant (YouTube, whose timestamps
  are to the second);
- ``page``: the next (older) page of the drain under way (X ``next_token``, Reddit ``after``, YouTube
  ``pageToken``, Weibo ``max_id``), ``None`` between drains;
- ``pending`` / ``pending_seen``: the watermark the drain under way leaves once it reaches its end.
So a poller killed after any page resumes at the next page of the same drain, and a drain that finished
starts the next one above its watermark: nothing is fetched into the stream twice, nothing is skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

import httpx
from pydantic import BaseModel, ConfigDict

from ingest.adapters.base import InvalidItem, Skipped
from ingest.adapters.polled import PageResult, PollConfig
from ingest.contracts import SocialEvent


class Cursor(BaseModel):
    """Where one endpoint of one connector stands (see the module docstring); stored as its JSON."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    watermark: str | None = None
    seen: tuple[str, ...] = ()
    page: str | None = None
    pending: str | None = None
    pending_seen: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PageRequest:
    """One HTTP request: absolute ``url``, query ``params``, ``headers``, a form body (``data``). Credentials
    go in headers only (never the URL, which httpx logs)."""

    url: str
    params: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    method: str = "GET"
    data: Mapping[str, str] | None = None

    def with_headers(self, **headers: str) -> PageRequest:
        return replace(self, headers={**self.headers, **headers})


@dataclass(frozen=True, slots=True)
class PageStep:
    """What one page became after the endpoint's filtering, and the cursor to store once it is durable."""

    events: tuple[SocialEvent, ...]
    skipped: tuple[Skipped, ...]
    invalid: tuple[InvalidItem, ...]
    cursor: Cursor
    drained: bool


@dataclass(frozen=True, slots=True)
class Wait:
    """The platform asks the poller to wait ``seconds`` and send the same request again (a rate limit)."""

    seconds: float
    reason: str


@dataclass(frozen=True, slots=True)
class Retry:
    """A transient failure (5xx, a timeout): send again after a backoff, a bounded number of times."""

    reason: str


@dataclass(frozen=True, slots=True)
class Refuse:
    """The platform refuses the connector (bad credentials, no access, a bad query): report it, stop the
    connector's poll and do not send again soon. ``auth``: the credentials were refused (a cached token
    is dropped and fetched once more first)."""

    reason: str
    auth: bool = False


Verdict = Wait | Retry | Refuse
Merge = Callable[[Cursor, PageResult], tuple[str | None, tuple[str, ...]]]
Known = Callable[[PageResult, Cursor], tuple[PageResult, bool]]


def first_page_newest(cursor: Cursor, result: PageResult) -> tuple[str | None, tuple[str, ...]]:
    """The drain's watermark is the newest position of its first page (listings sorted newest first)."""
    return (cursor.pending if cursor.pending is not None else result.newest), ()


def server_filtered(result: PageResult, cursor: Cursor) -> tuple[PageResult, bool]:
    """The platform itself returns only what is newer than the watermark (``since_id``): keep everything."""
    return result, False


@dataclass(frozen=True)
class ListingEndpoint:
    """One paged listing of a platform: ``params(cursor)`` builds the query from the cursor, ``read`` is
    the pure adapter, ``known`` drops what the watermark already covers (and says whether the listing reached
    it, ending the drain), ``merge`` gives the drain's pending watermark after a page."""

    name: str
    url: str
    params: Callable[[Cursor], Mapping[str, str]]
    read: Callable[[Any, datetime], PageResult]
    known: Known = server_filtered
    merge: Merge = first_page_newest
    headers: Mapping[str, str] = field(default_factory=dict)

    def request(self, cursor: Cursor) -> PageRequest:
        """The request for the cursor's next page (the first page of a new drain when ``cursor.page`` is
        ``None``)."""
        return PageRequest(self.url, dict(self.params(cursor)), dict(self.headers))

    def step(self, page: Any, cursor: Cursor, received_at: datetime) -> PageStep:
        """Map one answer and move the cursor. Pure; raises ``InvalidEvent`` for an unreadable answer."""
        result, reached = self.known(self.read(page, received_at), cursor)
        pending, pending_seen = self.merge(cursor, result)
        if result.next_page is not None and not reached:
            following = cursor.model_copy(update={"page": result.next_page, "pending": pending,
                                                  "pending_seen": pending_seen})
            return PageStep(result.events, result.skipped, result.invalid, following, drained=False)
        if pending is None:
            done = Cursor(watermark=cursor.watermark, seen=cursor.seen)
        else:
            done = Cursor(watermark=pending, seen=pending_seen)
        return PageStep(result.events, result.skipped, result.invalid, done, drained=True)


Fetch = Callable[[PageRequest], Any]
"""Sends a request (without credentials, through the engine's limits) and returns its parsed JSON."""


class Poller(Protocol):
    """A platform's poller for one connector, built by the platform module's factory from its config."""

    @property
    def config(self) -> PollConfig: ...

    @property
    def endpoints(self) -> tuple[ListingEndpoint, ...]:
        """The endpoints the config enables, in polling order."""
        ...

    @property
    def unavailable(self) -> tuple[Skipped, ...]:
        """The endpoints the config does not enable, each with the missing setting as the reason."""
        ...

    def authorize(self, request: PageRequest, fetch: Fetch, now: datetime) -> PageRequest:
        """``request`` with the connector's credentials; may fetch (and cache) a token through ``fetch``."""
        ...

    def forget_credentials(self) -> bool:
        """Drop a cached token after a 401; ``True`` when fetching a new one may help."""
        ...

    def verdict(self, response: httpx.Response, now: datetime) -> Verdict | None:
        """The platform's own reading of an error answer (e.g. Weibo's ``error_code``), ``None`` to use the
        engine's reading of the HTTP status."""
        ...
