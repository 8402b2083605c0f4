"""Alerts: list with filters, one alert, and a live Server-Sent Events stream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from alerts.contracts import Alert, AlertKind, AlertState
from alerts.repository import alerts_recorded_after, get_alert, list_alerts
from api.deps import get_session, require_role

router = APIRouter(prefix="/v1/alerts", tags=["alerts"], dependencies=[Depends(require_role("agent", "analyst"))])
SessionDep = Annotated[Session, Depends(get_session)]
STREAM_POLL_SECONDS = 0.5


@router.get("")
def read_alerts(
    session: SessionDep,
    state: AlertState | None = None,
    severity: Annotated[int | None, Query(ge=1, le=5, description="minimum severity")] = None,
    kind: AlertKind | None = None,
    brand: str | None = None,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[Alert]:
    """Alerts matching every filter, newest event first."""
    return list_alerts(
        session=session, state=state, kind=kind, min_severity=severity, brand=brand, since=since, limit=limit
    )


@router.get("/stream")
async def stream_alerts(request: Request) -> StreamingResponse:
    """Server-Sent Events: each alert recorded from now on, as ``event: alert`` with the alert JSON."""
    session_factory = request.app.state.session_factory

    async def events() -> AsyncIterator[str]:
        cursor = datetime.now(UTC)
        yield ": connected\n\n"
        while not await request.is_disconnected():
            def poll(after: datetime = cursor) -> list[tuple[datetime, Alert]]:
                with session_factory() as session:
                    return alerts_recorded_after(after, session=session)

            for recorded_at, alert in await asyncio.to_thread(poll):
                cursor = max(cursor, recorded_at if recorded_at.tzinfo else recorded_at.replace(tzinfo=UTC))
                yield f"event: alert\nid: {alert.alert_id}\ndata: {alert.model_dump_json()}\n\n"
            await asyncio.sleep(STREAM_POLL_SECONDS)

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


@router.get("/{alert_id}")
def read_alert(alert_id: str, session: SessionDep) -> Alert:
    """One alert with its evidence; 404 if unknown."""
    alert = get_alert(alert_id, session=session)
    if alert is None:
        raise HTTPException(status_code=404, detail="no such alert")
    return alert
