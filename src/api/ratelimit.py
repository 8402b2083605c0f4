"""Per-key rate limits on the expensive routes: a token bucket per (key name, route group).

A group's bucket holds ``burst`` requests and refills at ``per_minute``; a request that finds it empty is
answered 429 with ``Retry-After`` (whole seconds until a token is back), before any work is done. Buckets
live in this process: behind a load balancer each API process grants its own allowance. Thread-safe.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import Depends, HTTPException, Request, status
from pydantic import BaseModel, ConfigDict, Field

from api.auth import Principal
from api.deps import current_principal

Group = Literal["query", "enrich", "dashboards", "export"]


class RateLimit(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    per_minute: float = Field(gt=0)
    burst: int = Field(ge=1)


class RateLimits(BaseModel):
    """The allowance of each route group, per key (``SCRM_RATE_LIMITS__QUERY__PER_MINUTE=...``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    query: RateLimit = RateLimit(per_minute=30, burst=10)
    """The analyst's SQL (``POST /v1/analytics/query``)."""
    enrich: RateLimit = RateLimit(per_minute=120, burst=30)
    """``POST /v1/enrich`` (up to 256 texts each)."""
    dashboards: RateLimit = RateLimit(per_minute=600, burst=120)
    """The analytics read routes the console polls."""
    export: RateLimit = RateLimit(per_minute=10, burst=5)
    """Whole exports (``GET /v1/segments/{name}/members.csv``, ``GET /v1/export/crm``)."""


class TokenBuckets:
    """``take`` answers how many seconds to wait (0.0: go). ``clock`` is monotonic seconds."""

    def __init__(self, limits: RateLimits, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._limits = limits
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}

    def take(self, who: str, group: Group) -> float:
        """Spend one token of ``who``'s ``group`` bucket; the wait until one is back when it is empty."""
        limit: RateLimit = getattr(self._limits, group)
        rate = limit.per_minute / 60.0
        now = self._clock()
        with self._lock:
            tokens, at = self._buckets.get((who, group), (float(limit.burst), now))
            tokens = min(float(limit.burst), tokens + (now - at) * rate)
            if tokens >= 1.0:
                self._buckets[(who, group)] = (tokens - 1.0, now)
                return 0.0
            self._buckets[(who, group)] = (tokens, now)
            return (1.0 - tokens) / rate


def rate_limited(group: Group) -> Callable[..., None]:
    """A dependency that spends one of the caller's ``group`` tokens; 429 with ``Retry-After`` when none is
    left (the caller is authenticated first: 401 comes before 429)."""

    def check(request: Request, principal: Annotated[Principal, Depends(current_principal)]) -> None:
        buckets: TokenBuckets = request.app.state.rate_limits
        wait = buckets.take(principal.name, group)
        if wait > 0:
            raise HTTPException(status_code=status.HTTP_429_TOO_MANY_REQUESTS,
                                detail=f"rate limit of {group!r} reached for this key; retry in {math.ceil(wait)} s",
                                headers={"Retry-After": str(math.ceil(wait))})

    return check
