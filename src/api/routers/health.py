"""Liveness and readiness (no auth), Prometheus metrics (no auth: counters only, no personal data; keep the
port internal) and platform status."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, status
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.orm import Session

from api.deps import get_session, require_role
from ingest.deadletter_store import count_dead_letters

router = APIRouter(tags=["health"])


@router.get("/healthz", responses={503: {"description": "the in-process pipeline has stopped (the body says why)"}})
def healthz(request: Request, response: Response) -> dict[str, str]:
    """``ok`` while the process serves HTTP and its in-process pipeline (embedded runtime) runs; 503 with
    the reason once that pipeline has stopped."""
    failure = request.app.state.pipeline_failure
    reason = failure() if failure else None
    if reason:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return {"status": "failing", "reason": reason}
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "not ready: the body lists every problem"}})
def readyz(request: Request, response: Response) -> dict[str, Any]:
    """``ready`` when this process can do its work: the database answers and no lane is stalled (records
    waiting, no batch finished for a while), and its in-process pipeline has not stopped; else 503 with
    every problem. For load balancers and orchestrators (``/healthz`` is liveness only)."""
    problems: list[str] = []
    failure = request.app.state.pipeline_failure
    if failure and (reason := failure()):
        problems.append(f"pipeline stopped: {reason}")
    readiness = request.app.state.readiness
    if readiness is not None:
        problems += readiness()
    if problems:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return {"status": "not ready", "problems": problems}
    return {"status": "ready"}


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """The process's metrics in the Prometheus text format (404 when the process exposes none)."""
    registry = request.app.state.metrics
    if registry is None:
        return Response(status_code=status.HTTP_404_NOT_FOUND, content="no metrics in this process\n")
    return Response(content=generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


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
