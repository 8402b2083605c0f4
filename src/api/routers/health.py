"""Liveness (no auth) and platform status."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, status
from sqlalchemy.orm import Session

from api.deps import get_session, require_role
from ingest.deadletter_store import count_dead_letters

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(request: Request, response: Response) -> dict[str, str]:
    """``ok`` while the process serves HTTP and its in-process pipeline (embedded runtime) runs; 503 with
    the reason once that pipeline has stopped."""
    failure = request.app.state.pipeline_failure
    reason = failure() if failure else None
    if reason:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return {"status": "failing", "reason": reason}
    return {"status": "ok"}


@router.get("/v1/status", dependencies=[Depends(require_role("agent", "marketer", "analyst"))])
def platform_status(request: Request, session: Annotated[Session, Depends(get_session)]) -> dict[str, Any]:
    """Which runtime serves this API, the in-process pipeline's counters (embedded) and dead letters."""
    stats = request.app.state.pipeline_stats
    failure = request.app.state.pipeline_failure
    return {
        "runtime": request.app.state.runtime_name,
        "pipeline": stats() if stats else None,
        "pipeline_failure": failure() if failure else None,
        "dead_letters": count_dead_letters(session=session),
    }
