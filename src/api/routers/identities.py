"""Identity links (add / remove, with provenance) and scored match suggestions for review.

Changes are submitted to the identity service (``scrm.identity.links``) and applied asynchronously, in
order: the routes answer 202 with the link id.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api.auth import Principal
from api.deps import get_session, require_role
from api.openapi import errors
from profile_store.contracts import LinkSignal, Provenance, Suggestion
from profile_store.identity_graph import make_link
from profile_store.identity_keys import parse_identity_key
from profile_store.identity_repository import (
    get_link,
    get_suggestion,
    links_of_customer,
    list_suggestions,
    set_suggestion_status,
)
from profile_store.repository import resolve_redirect
from profile_store.suggestions import accept_signal

router = APIRouter(prefix="/v1/identities", tags=["identities"])
SessionDep = Annotated[Session, Depends(get_session)]
Reader = Depends(require_role("agent", "marketer", "analyst"))
Editor = require_role("agent")


class LinkRequest(BaseModel):
    a: str = Field(description="identity key, e.g. weibo:12345 or email:ann@example.com")
    b: str
    reference: str | None = Field(default=None, max_length=1024, description="why: ticket, note, evidence")


class Accepted(BaseModel):
    link_id: str
    status: Literal["accepted"] = "accepted"


def _submit(request: Request, signal: LinkSignal) -> None:
    request.app.state.submit_links([signal])


@router.post("/links", status_code=status.HTTP_202_ACCEPTED)
def create_link(body: LinkRequest, request: Request, actor: Annotated[Principal, Depends(Editor)]) -> Accepted:
    """State that two identities are the same person; merges their customers (the older survives)."""
    try:
        a, b = parse_identity_key(body.a), parse_identity_key(body.b)
        link = make_link(a, b, Provenance(source="api", actor=f"api:{actor.name}", reference=body.reference), datetime.now(UTC))
    except ValueError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc
    _submit(request, LinkSignal(op="link", link=link, requested_by=f"api:{actor.name}", at=link.created_at))
    return Accepted(link_id=link.link_id)


@router.delete("/links/{link_id}", status_code=status.HTTP_202_ACCEPTED, responses=errors(404))
def delete_link(link_id: str, request: Request, session: SessionDep, actor: Annotated[Principal, Depends(Editor)]) -> Accepted:
    """Remove a link: its customer splits and every part is recomputed from its own events."""
    found = get_link(link_id, session=session)
    if found is None or not found[1]:
        raise HTTPException(status_code=404, detail="no such active link")
    _submit(request, LinkSignal(op="unlink", link_id=link_id, requested_by=f"api:{actor.name}", at=datetime.now(UTC)))
    return Accepted(link_id=link_id)


@router.get("/links", dependencies=[Reader])
def read_links(customer_id: str, session: SessionDep) -> list[dict[str, Any]]:
    """Every link touching a customer's identities, with provenance and whether it is active."""
    links = links_of_customer(resolve_redirect(customer_id, session=session), session=session)
    return [{**link.model_dump(mode="json"), "active": active} for link, active in links]


@router.get("/suggestions", dependencies=[Reader])
def read_suggestions(
    session: SessionDep,
    state: Literal["pending", "accepted", "rejected"] = "pending",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[Suggestion]:
    """Probable matches with score and evidence, best first."""
    return list_suggestions(session=session, status=state, limit=limit)


@router.post("/suggestions/{suggestion_id}/accept", status_code=status.HTTP_202_ACCEPTED,
             responses=errors(404, 409))
def accept_suggestion(
    suggestion_id: str, request: Request, session: SessionDep, actor: Annotated[Principal, Depends(Editor)]
) -> Accepted:
    """A reviewer confirms the match: it becomes a link with the reviewer and suggestion as provenance."""
    suggestion = _pending(suggestion_id, session)
    signal = accept_signal(suggestion, reviewer=f"api:{actor.name}", at=datetime.now(UTC))
    set_suggestion_status(suggestion_id, "accepted", session=session)
    session.commit()
    _submit(request, signal)
    assert signal.link is not None
    return Accepted(link_id=signal.link.link_id)


@router.post("/suggestions/{suggestion_id}/reject", status_code=status.HTTP_204_NO_CONTENT,
             responses=errors(404, 409))
def reject_suggestion(suggestion_id: str, session: SessionDep, _actor: Annotated[Principal, Depends(Editor)]) -> None:
    """A reviewer says the two are different people; the pair is not suggested again."""
    _pending(suggestion_id, session)
    set_suggestion_status(suggestion_id, "rejected", session=session)
    session.commit()


def _pending(suggestion_id: str, session: Session) -> Suggestion:
    suggestion = get_suggestion(suggestion_id, session=session)
    if suggestion is None:
        raise HTTPException(status_code=404, detail="no such suggestion")
    if suggestion.status != "pending":
        raise HTTPException(status_code=409, detail=f"suggestion already {suggestion.status}")
    return suggestion
