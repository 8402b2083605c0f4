"""Analytics over ClickHouse: sentiment over time and its breakdowns, share of voice, top topics and the
influencer leaderboard (from the rollups; filters are bound parameters), raw breakdowns, and sandboxed
analyst SQL. Windows without ``since`` end at the newest event (event time)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from analytics.analyst import AnalystDoor, AnalystQuery, AnalystResult
from analytics.client import AnalyticsClient
from analytics.exceptions import (
    AnalystQueryError,
    DoorBusy,
    QueryCancelled,
    QueryCut,
    QueryFailed,
    QueryRefused,
    StoreFailed,
)
from analytics.queries import breakdown, latest_event_time
from analytics.rollups import (
    Filters,
    influencers,
    sentiment_breakdown,
    sentiment_over_time,
    sentiment_series,
    share_of_voice,
    top_topics,
)
from api.deps import require_role
from api.openapi import errors
from api.params import EventTime
from api.ratelimit import rate_limited

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])
Reader = Depends(require_role("agent", "marketer", "analyst"))
Dashboards = [Reader, Depends(rate_limited("dashboards"))]


def get_analytics(request: Request) -> AnalyticsClient:
    """The analytics client; 503 when this deployment runs without ClickHouse."""
    client: AnalyticsClient | None = request.app.state.analytics
    if client is None:
        raise HTTPException(status_code=503, detail="analytics is not configured (set SCRM_CLICKHOUSE_DSN)")
    return client


ClientDep = Annotated[AnalyticsClient, Depends(get_analytics)]


def _window_start(client: AnalyticsClient, since: datetime | None, hours: float) -> datetime | None:
    """Windows are anchored on the newest event (event time), so a replayed month shows that month."""
    if since is not None:
        return since
    latest = latest_event_time(client)
    return latest - timedelta(hours=hours) if latest else None


def get_filters(
    brand: str | None = None,
    platform: str | None = None,
    topic: str | None = None,
    language: str | None = None,
    since: EventTime | None = None,
    until: EventTime | None = None,
) -> Filters:
    """The rollup routes' common filters (``since``/``until``: event time, buckets starting in the window)."""
    return Filters(brand=brand, platform=platform, topic=topic, language=language, since=since, until=until)


FiltersDep = Annotated[Filters, Depends(get_filters)]
Hours = Annotated[float, Query(gt=0, le=24 * 90, description="window length when since is not given")]
Limit = Annotated[int, Query(ge=1, le=1000)]


def _windowed(client: AnalyticsClient, filters: Filters, hours: float) -> Filters | None:
    """``filters`` with ``since`` set (``hours`` before the newest event when not given), or ``None`` when
    there are no events at all."""
    start = _window_start(client, filters.since, hours)
    return None if start is None else replace(filters, since=start)


@router.get("/sentiment", dependencies=Dashboards, responses=errors(429, 503))
def sentiment_timeline(
    client: ClientDep,
    filters: FiltersDep,
    hours: Hours = 24,
    bucket_minutes: Annotated[int, Query(ge=1, le=24 * 60)] = 60,
) -> list[dict[str, Any]]:
    """Counts per sentiment label per bucket over the window, from the rollups (events with text)."""
    window = _windowed(client, filters, hours)
    return sentiment_over_time(client, window, bucket_minutes=bucket_minutes) if window else []


@router.get("/sentiment/series", dependencies=Dashboards, responses=errors(429, 503))
def sentiment_timeseries(
    client: ClientDep,
    filters: FiltersDep,
    hours: Hours = 24,
    bucket_minutes: Annotated[int, Query(ge=1, le=24 * 60)] = 60,
) -> list[dict[str, Any]]:
    """Per bucket: events with text, counts by label, mean score (from the rollups)."""
    window = _windowed(client, filters, hours)
    return sentiment_series(client, window, bucket_minutes=bucket_minutes) if window else []


@router.get("/sentiment/breakdown", dependencies=Dashboards, responses=errors(429, 503))
def sentiment_by(
    client: ClientDep,
    filters: FiltersDep,
    by: Literal["brand", "platform", "topic", "language"] = "platform",
    hours: Hours = 24,
) -> list[dict[str, Any]]:
    """Sentiment of events with text per brand, platform, topic or language (from the hourly rollup)."""
    window = _windowed(client, filters, hours)
    return sentiment_breakdown(client, window, by=by) if window else []


@router.get("/share-of-voice", dependencies=Dashboards, responses=errors(429, 503))
def brands_share_of_voice(
    client: ClientDep,
    filters: FiltersDep,
    hours: Hours = 24 * 7,
    bucket_hours: Annotated[int | None, Query(ge=1, le=24 * 31)] = None,
) -> list[dict[str, Any]]:
    """Each brand's events and share of all brands' events, over the window or per bucket."""
    window = _windowed(client, filters, hours)
    return share_of_voice(client, window, bucket_hours=bucket_hours) if window else []


@router.get("/topics", dependencies=Dashboards, responses=errors(429, 503))
def topics_ranking(client: ClientDep, filters: FiltersDep, hours: Hours = 24, limit: Limit = 20) -> list[dict[str, Any]]:
    """The top topics of the window, with their negatives, reach and engagement."""
    window = _windowed(client, filters, hours)
    return top_topics(client, window, limit=limit) if window else []


@router.get("/influencers", dependencies=Dashboards, responses=errors(429, 503))
def influencer_leaderboard(
    client: ClientDep,
    filters: FiltersDep,
    hours: Hours = 24 * 7,
    limit: Limit = 20,
    order: Literal["engagement", "followers", "events", "negative"] = "engagement",
) -> list[dict[str, Any]]:
    """Customers ranked by engagement received (or followers, events, negatives) in the window; each
    account counts for its current customer (after merges)."""
    window = _windowed(client, filters, hours)
    return influencers(client, window, limit=limit, order=order) if window else []


@router.get("/breakdown", dependencies=Dashboards, responses=errors(429, 503))
def breakdown_by(
    client: ClientDep,
    by: Literal["platform", "brand", "kind", "language"] = "platform",
    since: EventTime | None = None,
    hours: Annotated[float, Query(gt=0, le=24 * 90)] = 24,
) -> list[dict[str, Any]]:
    """Events, negatives and mean sentiment per platform, brand, kind or language."""
    start = _window_start(client, since, hours)
    return breakdown(client, by=by, since=start) if start else []


class AnalystQueryRequest(BaseModel):
    sql: str = Field(min_length=1, max_length=20_000)
    max_rows: int = Field(default=1000, ge=1, le=100_000)


def get_analyst_door(request: Request) -> AnalystDoor:
    """The analyst door; 503 when this deployment runs without ClickHouse."""
    door: AnalystDoor | None = request.app.state.analyst_door
    if door is None:
        raise HTTPException(status_code=503, detail="analytics is not configured (set SCRM_CLICKHOUSE_DSN)")
    return door


DoorDep = Annotated[AnalystDoor, Depends(get_analyst_door)]

CLIENT_CLOSED_REQUEST = 499  # the client went away before the answer (nginx's code; nobody reads it)
_STATUS: tuple[tuple[type[AnalystQueryError], int], ...] = (
    (QueryRefused, 400), (QueryFailed, 400), (QueryCut, 422), (DoorBusy, 429),
    (QueryCancelled, CLIENT_CLOSED_REQUEST), (StoreFailed, 502),
)


@router.post("/query", dependencies=[Depends(require_role("analyst")), Depends(rate_limited("query"))],
             responses=errors(400, 422, 429, CLIENT_CLOSED_REQUEST, 502, 503))
async def analyst_query(body: AnalystQueryRequest, request: Request, door: DoorDep) -> AnalystResult:
    """One read-only SELECT/WITH/EXPLAIN/SHOW/DESCRIBE through the analyst door (``analytics.door``): run
    on the door's own clients with its time, memory and row limits, cancelled when the client disconnects.
    400 refused or a mistake in the SQL, 422 cut at a limit, 429 every slot busy, 502 the store failed."""
    try:
        query = await anyio.to_thread.run_sync(partial(door.prepare, body.sql, max_rows=body.max_rows))
        return await _run_until_disconnected(query, request)
    except AnalystQueryError as exc:
        status = next(code for kind, code in _STATUS if isinstance(exc, kind))
        headers = {"Retry-After": "1"} if status == 429 else None
        raise HTTPException(status_code=status, detail=str(exc), headers=headers) from None


async def _run_until_disconnected(query: AnalystQuery, request: Request) -> AnalystResult:
    """Run ``query`` in a worker thread; cancel it when the client disconnects first. Raises what
    ``AnalystQuery.run`` raises."""

    async def cancel_on_disconnect() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass
        await anyio.to_thread.run_sync(query.cancel)

    outcome: AnalystResult | AnalystQueryError
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(cancel_on_disconnect)
        try:
            outcome = await anyio.to_thread.run_sync(query.run)
        except AnalystQueryError as exc:
            outcome = exc
        tasks.cancel_scope.cancel()
    if isinstance(outcome, AnalystQueryError):
        raise outcome
    return outcome
