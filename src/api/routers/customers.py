"""Erasure of a person (PIPL / GDPR), admin only: ``DELETE /v1/customers/{id}`` removes the customer, with
every identity merged into them, from every store (``streams.erasure`` through ``ApiServices.erase``);
``GET /v1/customers/{id}/erasure`` says whether any trace is left."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel, ConfigDict

from api.auth import Principal
from api.deps import require_role
from api.openapi import errors
from profile_store.contracts import ErasureRecord

router = APIRouter(prefix="/v1/customers", tags=["privacy"])
AdminDep = Annotated[Principal, Depends(require_role("admin"))]


class ErasureCheck(BaseModel):
    """``clean``: the key or id is on the suppression list and no store names it; ``traces``: rows per store
    still naming it; ``erasures``: the audited erasures asked for it."""

    model_config = ConfigDict(frozen=True)

    clean: bool
    listed: bool
    traces: dict[str, int]
    erasures: list[ErasureRecord]


@router.delete("/{subject}", responses=errors(404, 503))
def erase_customer(subject: str, request: Request, principal: AdminDep,
                   reason: Annotated[str | None, Query(max_length=1000)] = None) -> ErasureRecord:
    """Erase the customer (a customer id, or any identity key of theirs such as ``weibo:123``). Blocks until
    every store is done; idempotent (a second call finds nothing and is audited too). 404 when no store
    knows the subject and it was never erased."""
    erase = request.app.state.erase
    if erase is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "erasure is not configured in this process")
    record: ErasureRecord | None = erase(subject, principal.name, reason)
    if record is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no customer or identity by that id")
    return record


@router.get("/{subject}/erasure", responses=errors(503))
def check_erasure(subject: str, request: Request, _: AdminDep) -> ErasureCheck:
    """What is left of ``subject`` in every store (reads only)."""
    verify = request.app.state.verify_erasure
    if verify is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "erasure is not configured in this process")
    listed, traces, erasures = verify(subject)
    return ErasureCheck(clean=listed and not any(traces.values()), listed=listed, traces=traces, erasures=erasures)
