"""Dead-lettered input (embedded runtime's table)."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from api.deps import get_session, require_role
from ingest.deadletter_store import list_dead_letters

router = APIRouter(prefix="/v1/deadletters", tags=["dead letters"], dependencies=[Depends(require_role("analyst"))])


@router.get("")
def read_dead_letters(
    session: Annotated[Session, Depends(get_session)], limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[dict[str, Any]]:
    """Newest first; ``original`` is base64."""
    return [json.loads(letter.model_dump_json()) for letter in list_dead_letters(session=session, limit=limit)]
