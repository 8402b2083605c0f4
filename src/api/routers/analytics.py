"""Analytics over ClickHouse: sentiment over time, breakdowns, and sandboxed analyst SQL."""

from __future__ import annotations

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
from analytics.queries import breakdown, latest_event_time, sentiment_over_time
from api.deps import require_role

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])
Reader = Depends(require_role("agent", "marketer", "analyst"))


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


@router.get("/sentiment", dependencies=[Reader])
def sentiment_timeline(
    client: ClientDep,
    since: datetime | None = None,
    hours: Annotated[float, Query(gt=0, le=24 * 90)] = 24,
    bucket_minutes: Annotated[int, Query(ge=1, le=24 * 60)] = 60,
    brand: str | None = None,
) -> list[dict[str, Any]]:
    """Counts per sentiment label per bucket over the window."""
    start = _window_start(client, since, hours)
    if start is None:
        return []
    return sentiment_over_time(client, since=start, bucket_minutes=bucket_minutes, brand=brand)


@router.get("/breakdown", dependencies=[Reader])
def breakdown_by(
    client: ClientDep,
    by: Literal["platform", "brand", "kind", "language"] = "platform",
    since: datetime | None = None,
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


@router.post("/query", dependencies=[Depends(require_role("analyst"))])
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
