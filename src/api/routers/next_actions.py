"""``GET /v1/next-actions?brand=B``: who to contact today for a brand (``profile_store.next_actions``).
Agents and marketers (and admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from api.deps import get_session, require_role
from profile_store.next_action_store import next_actions
from profile_store.next_actions import NextActions

router = APIRouter(prefix="/v1/next-actions", tags=["next actions"],
                   dependencies=[Depends(require_role("agent", "marketer"))])


@router.get("")
def read_next_actions(
    session: Annotated[Session, Depends(get_session)],
    brand: Annotated[str, Query(min_length=1, max_length=256)],
    days: Annotated[int, Query(ge=1, le=90, description="the window in days of event time")] = 7,
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
) -> NextActions:
    """The ranked list: valued customers at risk (``retain``), ready-to-buy prospects (``convert``),
    advocates to invite (``invite``), each with its reason and evidence posts; customers whose consent
    refuses the contact are left out and counted (``withheld_for_consent``). The window ends at the newest
    stored event (event time)."""
    return next_actions(brand, days=days, limit=limit, session=session)
