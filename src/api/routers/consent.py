"""A customer's consent: ``GET`` the effective consent with the statements behind it, ``PUT`` a new
statement (``docs/consent.md``). Agents, marketers (and admins) state; analysts read too."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from analytics.client import AnalyticsClient
from analytics.erasure import AnalyticsSubject, exclude_person
from api.auth import Principal
from api.deps import get_session, require_role
from api.openapi import errors
from profile_store.consent_updates import state_consent
from profile_store.consents import consent_of, statements_of
from profile_store.contracts import Consent, ConsentStatement
from profile_store.identity_repository import identities_of
from profile_store.repository import resolve_redirect

router = APIRouter(prefix="/v1/profiles", tags=["profiles"])
SessionDep = Annotated[Session, Depends(get_session)]
StaterDep = Annotated[Principal, Depends(require_role("agent", "marketer"))]


class ConsentOut(BaseModel):
    """The customer's effective consent (newest statement per purpose over all their identities; ``null``:
    nobody said) and every statement behind it."""

    model_config = ConfigDict(frozen=True)

    customer_id: str
    consent: Consent
    statements: list[ConsentStatement]


@router.get("/{customer_id}/consent", dependencies=[Depends(require_role("agent", "marketer", "analyst"))],
            responses=errors(404))
def read_consent(customer_id: str, session: SessionDep) -> ConsentOut:
    """The effective consent and its statements; 404 if no customer has that id."""
    current = resolve_redirect(customer_id, session=session)
    identities = identities_of([current], session=session)[current]
    if not identities:
        raise HTTPException(status_code=404, detail="no such customer")
    return ConsentOut(customer_id=current, consent=consent_of({current: identities}, session=session)[current],
                      statements=statements_of(identities, session=session))


@router.put("/{customer_id}/consent", responses=errors(404))
def put_consent(customer_id: str, body: Consent, request: Request, session: SessionDep,
                principal: StaterDep) -> ConsentOut:
    """State the customer's consent for every identity they hold (purposes left out or ``null`` stay as
    they are), as ``api:<key's name>`` now; the profile and segment membership follow in the same
    transaction. A withdrawal of ``analytics`` also removes the person's rows from ClickHouse when this
    process reaches it (the embedded runtime's; idempotent). 404 if no customer has that id."""
    with session.begin():
        change = state_consent(customer_id, body, source=f"api:{principal.name}", at=datetime.now(UTC),
                               session=session)
        if change is None:
            raise HTTPException(status_code=404, detail="no such customer")
    analytics: AnalyticsClient | None = request.app.state.analytics
    if analytics is not None and change.analytics_withdrawn and body.analytics is False:
        exclude_person(analytics, AnalyticsSubject(identity_keys=change.identity_keys,
                                                   customer_ids=(change.customer_id,)))
    return read_consent(change.customer_id, session)
