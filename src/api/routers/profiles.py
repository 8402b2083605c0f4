"""Customer profiles: the 360 view, lookup by identity or name, timeline."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from sqlalchemy.orm import Session

from api.deps import get_session, require_role
from api.openapi import errors
from profile_store.contracts import CustomerProfile, Lifecycle, MergeRecord
from profile_store.identity_repository import merge_history
from profile_store.repository import find_profile_by_identity, get_profile, resolve_redirect, search_profiles
from profile_store.timeline import (
    PAGE_MAX,
    InvalidCursor,
    SentimentDay,
    TimelinePage,
    sentiment_by_day,
    timeline_page,
)

router = APIRouter(
    prefix="/v1/profiles", tags=["profiles"], dependencies=[Depends(require_role("agent", "marketer", "analyst"))]
)
SessionDep = Annotated[Session, Depends(get_session)]


@router.get("")
def find_profiles(
    session: SessionDep,
    identity: Annotated[str | None, Query(description="identity key, e.g. weibo:12345")] = None,
    q: Annotated[str | None, Query(description="part of the display name", max_length=200)] = None,
    lifecycle: Lifecycle | None = None,
    min_influence: Annotated[float | None, Query(ge=0, le=100)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[CustomerProfile]:
    """Profiles by identity key, by name, by lifecycle stage and minimum influence (most influential
    first)."""
    if identity:
        profile = find_profile_by_identity(identity, session=session)
        return [profile] if profile else []
    return search_profiles(session=session, name=q, lifecycle=lifecycle, min_influence=min_influence, limit=limit)


@router.get("/{customer_id}", responses=errors(404))
def read_profile(customer_id: str, session: SessionDep) -> CustomerProfile:
    """The whole profile of one customer; 404 if unknown."""
    profile = get_profile(customer_id, session=session)
    if profile is None:
        raise HTTPException(status_code=404, detail="no such customer")
    return profile


@router.get("/{customer_id}/timeline", responses=errors(400, 404))
def read_timeline(
    customer_id: str,
    session: SessionDep,
    before: Annotated[str | None, Query(max_length=2000, description="the `next` of the page before")] = None,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 50,
) -> TimelinePage:
    """Every interaction of the customer (all their identities), newest first, a page at a time (keyset:
    pass the page's ``next`` as ``before``; ``next`` is null on the last page). 404 if unknown, 400 for a
    cursor this API did not give."""
    current = read_profile(customer_id, session).customer_id  # a merged-away id: the survivor
    try:
        return timeline_page(current, before=before, limit=limit, session=session)
    except InvalidCursor as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from exc


@router.get("/{customer_id}/sentiment", responses=errors(404))
def read_sentiment(customer_id: str, session: SessionDep) -> list[SentimentDay]:
    """The customer's sentiment over event time: per UTC day with posts, counts by label and the mean
    score, oldest first (events without text are no opinion and are left out). 404 if unknown."""
    current = read_profile(customer_id, session).customer_id  # a merged-away id: the survivor
    return sentiment_by_day(current, session=session)


@router.get("/{customer_id}/merges")
def read_merges(customer_id: str, session: SessionDep) -> list[MergeRecord]:
    """The customer's merges and splits: what linked them, when, and the provenance."""
    return merge_history(resolve_redirect(customer_id, session=session), session=session)
