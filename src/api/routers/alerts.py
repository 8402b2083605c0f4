"""Alerts (incidents): list with filters, one incident with its evidence, lifecycle actions, and a live
Server-Sent Events stream. Agents and analysts read; marketers read opportunity incidents only (a crisis is
the agents' and PR's: to a marketer it does not exist); agents (and admins) act."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from alerts import incidents as lifecycle
from alerts.contracts import AlertKind, AlertState, Incident, SignalPost
from alerts.exceptions import AlertNotFound, InvalidTransition
from alerts.repository import (
    InvalidCursor,
    change_incident,
    get_incident,
    incident_posts,
    incidents_updated_after,
    list_incidents,
)
from api.auth import Principal
from api.deps import current_principal, get_session, require_role
from api.openapi import errors
from api.params import EventTime
from api.tickets import TICKET_SECONDS

router = APIRouter(prefix="/v1/alerts", tags=["alerts"],
                   dependencies=[Depends(require_role("agent", "analyst", "marketer"))])
SessionDep = Annotated[Session, Depends(get_session)]
MARKETER_KINDS: frozenset[AlertKind] = frozenset({"opportunity"})


def readable_kinds(principal: Annotated[Principal, Depends(current_principal)]) -> frozenset[AlertKind] | None:
    """The incident kinds the caller may read (``None``: every kind)."""
    return MARKETER_KINDS if principal.role == "marketer" else None


KindsDep = Annotated[frozenset[AlertKind] | None, Depends(readable_kinds)]
ActorDep = Annotated[Principal, Depends(require_role("agent"))]
STREAM_POLL_SECONDS = 0.5


class IncidentOut(Incident):
    """An incident, plus the fields of a single alert the console shows (``alert_id`` is the incident id,
    ``occurred_at`` its last event, ``platform`` its first platform, ``event_id`` its latest event)."""

    alert_id: str
    occurred_at: datetime
    platform: str | None
    event_id: str | None

    @classmethod
    def of(cls, incident: Incident) -> IncidentOut:
        return cls(**incident.model_dump(), alert_id=incident.incident_id, occurred_at=incident.last_seen,
                   platform=incident.platforms[0] if incident.platforms else None,
                   event_id=incident.event_ids[-1] if incident.event_ids else None)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SnoozeIn(_Body):
    until: EventTime


class AssignIn(_Body):
    assignee: str | None = Field(default=None, max_length=256)
    team: str | None = Field(default=None, max_length=256)


class CommentIn(_Body):
    text: str = Field(min_length=1, max_length=10_000)


@router.get("", responses=errors(403))
def read_alerts(
    session: SessionDep,
    kinds: KindsDep,
    state: AlertState | None = None,
    severity: Annotated[int | None, Query(ge=1, le=5, description="minimum severity")] = None,
    kind: AlertKind | None = None,
    brand: str | None = None,
    since: Annotated[EventTime | None, Query(description="last event at or after (event time)")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[IncidentOut]:
    """Incidents matching every filter, most recently seen first (for a marketer: opportunities; asking a
    marketer's list for another kind is 403)."""
    if kinds is not None:
        if kind is not None and kind not in kinds:
            raise HTTPException(status_code=403, detail=f"role 'marketer' may read {', '.join(sorted(kinds))} incidents only")
        (kind,) = kinds
    found = list_incidents(session=session, state=state, kind=kind, min_severity=severity, brand=brand,
                           since=since, limit=limit)
    return [IncidentOut.of(i) for i in found]


class StreamTicket(BaseModel):
    """A ticket for ``GET /v1/alerts/stream?ticket=...`` (``api.tickets``)."""

    ticket: str
    expires_in: int


@router.post("/stream/ticket")
def stream_ticket(request: Request, principal: Annotated[Principal, Depends(current_principal)]) -> StreamTicket:
    """A one-minute ticket to open the live stream from a browser, whose ``EventSource`` cannot send the
    API key in a header (a key in a URL is refused)."""
    return StreamTicket(ticket=request.app.state.stream_tickets.issue(principal.name), expires_in=TICKET_SECONDS)


@router.get("/stream", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}, "description": "incidents as they change"}})
async def stream_alerts(request: Request, kinds: KindsDep) -> StreamingResponse:
    """Server-Sent Events: every incident opened or changed from now on, as ``event: alert`` with the
    incident JSON (``id:`` is ``<incident id>:<version>``). Authenticated by the API key header, or by
    ``?ticket=`` from ``POST /v1/alerts/stream/ticket`` (browsers)."""
    session_factory = request.app.state.session_factory

    async def events() -> AsyncIterator[str]:
        cursor = datetime.now(UTC)
        yield ": connected\n\n"
        while not await request.is_disconnected():
            def poll(after: datetime = cursor) -> list[Incident]:
                with session_factory() as session:
                    return incidents_updated_after(after, session=session)

            for incident in await asyncio.to_thread(poll):
                if kinds is not None and incident.kind not in kinds:
                    continue
                at = incident.updated_at if incident.updated_at.tzinfo else incident.updated_at.replace(tzinfo=UTC)
                cursor = max(cursor, at)
                out = IncidentOut.of(incident)
                yield f"event: alert\nid: {incident.incident_id}:{incident.version}\ndata: {out.model_dump_json()}\n\n"
            await asyncio.sleep(STREAM_POLL_SECONDS)

    return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


@router.get("/{alert_id}", responses=errors(404))
def read_alert(alert_id: str, session: SessionDep, kinds: KindsDep) -> IncidentOut:
    """One incident with its evidence, suggested reply and comments; 404 if unknown (or of a kind the
    caller may not read)."""
    incident = get_incident(alert_id, session=session)
    if incident is None or (kinds is not None and incident.kind not in kinds):
        raise HTTPException(status_code=404, detail="no such alert")
    return IncidentOut.of(incident)


class IncidentPosts(BaseModel):
    """One page of the posts behind an incident, newest first; ``next``: the cursor of the page after."""

    items: list[SignalPost]
    next: str | None = None


@router.get("/{alert_id}/posts", responses=errors(400, 404))
def read_incident_posts(
    alert_id: str, session: SessionDep, kinds: KindsDep,
    before: Annotated[str | None, Query(max_length=512, description="the `next` of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> IncidentPosts:
    """Every post behind an incident, page by page (a digest's queue: its card shows the latest few)."""
    incident = get_incident(alert_id, session=session)
    if incident is None or (kinds is not None and incident.kind not in kinds):
        raise HTTPException(status_code=404, detail="no such alert")
    try:
        items, cursor = incident_posts(incident.incident_id, session=session, before=before, limit=limit)
    except InvalidCursor as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    return IncidentPosts(items=items, next=cursor)


def _act(session: Session, alert_id: str, change: Callable[[Incident], Incident]) -> IncidentOut:
    try:
        with session.begin():
            return IncidentOut.of(change_incident(alert_id, change, session=session))
    except AlertNotFound:
        raise HTTPException(status_code=404, detail="no such alert") from None
    except InvalidTransition as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None


@router.post("/{alert_id}/ack", responses=errors(404, 409))
def acknowledge_alert(alert_id: str, session: SessionDep, actor: ActorDep) -> IncidentOut:
    """open -> acknowledged (stops escalation), recorded under the key's name; 409 otherwise."""
    return _act(session, alert_id, lambda i: lifecycle.acknowledge(i, by=actor.name, now=datetime.now(UTC)))


@router.post("/{alert_id}/resolve", responses=errors(404, 409))
def resolve_alert(alert_id: str, session: SessionDep, actor: ActorDep) -> IncidentOut:
    """-> resolved (by the key's name); the next alert with the same dedup key opens a new incident. 409 if
    already resolved."""
    return _act(session, alert_id, lambda i: lifecycle.resolve(i, by=actor.name, now=datetime.now(UTC)))


@router.post("/{alert_id}/snooze", responses=errors(404, 409))
def snooze_alert(alert_id: str, body: SnoozeIn, session: SessionDep, actor: ActorDep) -> IncidentOut:
    """Silence deliveries and escalation until ``until``; 409 for a past time or a resolved incident."""
    until = body.until if body.until.tzinfo else body.until.replace(tzinfo=UTC)
    return _act(session, alert_id,
                lambda i: lifecycle.snooze(i, until=until, by=actor.name, now=datetime.now(UTC)))


@router.post("/{alert_id}/assign", responses=errors(404, 409))
def assign_alert(alert_id: str, body: AssignIn, session: SessionDep, actor: ActorDep) -> IncidentOut:
    """Assign to an agent (a key's name) and/or a team; 409 when neither is given."""
    return _act(session, alert_id,
                lambda i: lifecycle.assign(i, assignee=body.assignee, team=body.team, now=datetime.now(UTC)))


@router.post("/{alert_id}/comments", status_code=201, responses=errors(404, 409))
def comment_alert(alert_id: str, body: CommentIn, session: SessionDep, actor: ActorDep) -> IncidentOut:
    """Append a comment, by the key's name, at now."""
    return _act(session, alert_id,
                lambda i: lifecycle.add_comment(i, author=actor.name, text=body.text, now=datetime.now(UTC)))
