"""Analytics over ClickHouse: sentiment over time, breakdowns, and sandboxed analyst SQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field

from analytics.client import AnalyticsClient
from analytics.exceptions import UnsafeQuery
from analytics.queries import breakdown, latest_event_time, run_analyst_query, sentiment_over_time
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


class AnalystQuery(BaseModel):
    sql: str = Field(min_length=1, max_length=20_000)
    max_rows: int = Field(default=1000, ge=1, le=100_000)


@router.post("/query", dependencies=[Depends(require_role("analyst"))])
def analyst_query(query: AnalystQuery, client: ClientDep) -> dict[str, Any]:
    """One read-only SELECT, executed with ClickHouse ``readonly=1``; 400 for anything else."""
    try:
        return run_analyst_query(client, query.sql, max_rows=query.max_rows)
    except UnsafeQuery as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    except Exception as exc:
        raise HTTPException(status_code=400, detail=f"query failed: {str(exc)[:500]}") from exc
