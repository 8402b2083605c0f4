"""Liveness (no auth) and platform status."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session

from api.deps import get_session, require_role
from ingest.deadletter_store import count_dead_letters

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """Always ``ok`` while the process serves HTTP."""
    return {"status": "ok"}


@router.get("/v1/status", dependencies=[Depends(require_role("agent", "marketer", "analyst"))])
def platform_status(request: Request, session: Annotated[Session, Depends(get_session)]) -> dict[str, Any]:
    """Which runtime serves this API, the in-process pipeline's counters (embedded) and dead letters."""
    stats = request.app.state.pipeline_stats
    return {
        "runtime": request.app.state.runtime_name,
        "pipeline": stats() if stats else None,
        "dead_letters": count_dead_letters(session=session),
    }
