"""``POST /v1/ingest/events`` (role ``ingest``): ready-made ``SocialEvent``s, a JSON array or JSON lines.

Every item is judged on its own (``ingest.adapters.generic``): accepted items go into the intake sink,
rejected ones are kept as dead letters (stage ``intake``, the item's exact bytes) in the same call, and the
answer, sent once all of them are durable, says per line what became of it. A body that cannot be split
into items (a malformed JSON array) is dead-lettered whole and answered 400; more than 10,000 items or a
body over ``MAX_BODY`` (16 MiB), 413; the intake unavailable, 503 (retry: event ids make it count once).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from api.deps import get_receivers, read_body, require_role
from api.openapi import errors
from api.webhooks import Receivers
from ingest.adapters.generic import Accepted, parse_events
from ingest.contracts import SocialEvent
from ingest.deadletter import DeadLetter
from ingest.exceptions import BatchTooLarge, IntakeUnavailable, InvalidEvent

MAX_BODY = 16 * 1024 * 1024
SOURCE = "ingest:events"
"""The ``source_topic`` of the route's dead letters (not a topic: they are not replayable as such)."""

router = APIRouter(prefix="/v1/ingest", tags=["ingest"], dependencies=[Depends(require_role("ingest"))])


class LineOutcome(BaseModel):
    line: int
    status: Literal["accepted", "rejected"]
    event_id: str | None = None
    field: str | None = None
    reason: str | None = None


class IngestAnswer(BaseModel):
    accepted: int
    rejected: int
    lines: list[LineOutcome]


@router.post("/events", responses=errors(400, 413, 503))
async def ingest_events(request: Request, receivers: Annotated[Receivers, Depends(get_receivers)]) -> IngestAnswer:
    """Judge, keep and answer every item of the body (see the module docstring)."""
    body = await read_body(request, MAX_BODY)
    now = receivers.clock()
    try:
        batch = parse_events(body)
    except BatchTooLarge as exc:
        raise HTTPException(status_code=status.HTTP_413_CONTENT_TOO_LARGE, detail=str(exc)) from exc
    except InvalidEvent as exc:
        whole = DeadLetter(original=body, error=str(exc), field=exc.field, stage="intake", source_topic=SOURCE,
                           failed_at=now)
        await _accept(receivers, [whole])
        raise HTTPException(status_code=status.HTTP_400_BAD_REQUEST, detail=str(exc)) from exc
    records: list[SocialEvent | DeadLetter] = []
    lines: list[LineOutcome] = []
    for outcome in batch.outcomes:
        if isinstance(outcome, Accepted):
            records.append(outcome.event)
            lines.append(LineOutcome(line=outcome.line, status="accepted", event_id=outcome.event.event_id))
        else:
            records.append(DeadLetter(original=outcome.original, error=f"{outcome.field}: {outcome.reason}",
                                      field=outcome.field, stage="intake", source_topic=SOURCE, failed_at=now))
            lines.append(LineOutcome(line=outcome.line, status="rejected", field=outcome.field, reason=outcome.reason))
    await _accept(receivers, records)
    rejected = len(batch.rejected)
    return IngestAnswer(accepted=len(lines) - rejected, rejected=rejected, lines=lines)


async def _accept(receivers: Receivers, records: list[SocialEvent | DeadLetter]) -> None:
    try:
        if receivers.sink is None:
            raise IntakeUnavailable("this API process has no intake configured")
        await run_in_threadpool(receivers.sink.accept, records)
    except IntakeUnavailable as exc:
        raise HTTPException(status_code=status.HTTP_503_SERVICE_UNAVAILABLE, detail=str(exc)) from exc
