"""The poller's limits, pure: a request budget per connector, exponential backoff with jitter, and the
rate-limit headers platforms answer with.

Headers read (names are case-insensitive in httpx):
- ``Retry-After``: seconds or an HTTP date (RFC 9110), any platform;
- ``x-rate-limit-reset``: the Unix time (seconds) the window resets (X), with ``x-rate-limit-remaining``;
- ``x-ratelimit-reset``: seconds until the window resets (Reddit), with ``x-ratelimit-remaining``.
"""

from __future__ import annotations

import random
from collections import deque
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx

from ingest.adapters.polled import FIFTEEN_MINUTES

WINDOW = timedelta(seconds=FIFTEEN_MINUTES)


class RequestBudget:
    """At most ``limit`` requests in any 15 minutes (a sliding window). Not thread-safe (one per engine)."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._sent: deque[datetime] = deque()

    def wait_before_next(self, now: datetime) -> float:
        """Seconds to wait before the next request fits the budget (0 when it fits now)."""
        while self._sent and self._sent[0] <= now - WINDOW:
            self._sent.popleft()
        if len(self._sent) < self._limit:
            return 0.0
        return max((self._sent[0] + WINDOW - now).total_seconds(), 0.0)

    def record(self, now: datetime) -> None:
        """Count a request sent at ``now``."""
        self._sent.append(now)


def backoff_seconds(attempt: int, rng: random.Random, *, base: float = 1.0, cap: float = 60.0) -> float:
    """The wait before retry ``attempt`` (1, 2, ...): "full jitter", uniform in [0, min(cap, base * 2^(n-1))]
    with at least a tenth of the ceiling, so retries of many pollers spread out and none is immediate."""
    ceiling = min(cap, base * 2 ** (attempt - 1))
    return rng.uniform(ceiling / 10, ceiling)


def rate_limit_wait(response: httpx.Response, now: datetime) -> float | None:
    """How long a 429 (or an exhausted window) asks to wait, from the headers above; ``None`` when they do
    not say. Never negative."""
    headers = response.headers
    after = headers.get("retry-after")
    if after is not None:
        seconds = _number(after)
        if seconds is not None:
            return max(seconds, 0.0)
        try:
            return max((parsedate_to_datetime(after) - now).total_seconds(), 0.0)
        except (TypeError, ValueError):
            pass
    reset_at = _number(headers.get("x-rate-limit-reset"))
    if reset_at is not None:
        return max(reset_at - now.timestamp(), 0.0)
    reset_in = _number(headers.get("x-ratelimit-reset"))
    if reset_in is not None:
        return max(reset_in, 0.0)
    return None


def exhausted_wait(response: httpx.Response, now: datetime) -> float | None:
    """When a successful answer says its window has no request left (``x-rate-limit-remaining: 0``, Reddit's
    ``x-ratelimit-remaining`` below 1), how long until it resets; else ``None``."""
    for name in ("x-rate-limit-remaining", "x-ratelimit-remaining"):
        remaining = _number(response.headers.get(name))
        if remaining is not None and remaining < 1:
            return rate_limit_wait(response, now)
    return None


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value.strip())
    except ValueError:
        return None
