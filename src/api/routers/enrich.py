"""``POST /v1/enrich``: enrich a batch of texts with the app's enricher."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from api.deps import get_enricher, require_role
from api.openapi import errors
from api.ratelimit import rate_limited
from enrichment.contracts import Enrichment
from enrichment.protocols import Enricher

MAX_BATCH = 256
MAX_CHARS = 10_000

router = APIRouter(prefix="/v1", tags=["enrichment"])


class EnrichRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    texts: list[Annotated[str, Field(max_length=MAX_CHARS)]] = Field(min_length=1, max_length=MAX_BATCH)


class EnrichResponse(BaseModel):
    results: list[Enrichment]


@router.post("/enrich", response_model=EnrichResponse, responses=errors(429))
async def enrich(
    body: EnrichRequest,
    enricher: Annotated[Enricher, Depends(get_enricher)],
    _role: Annotated[Any, Depends(require_role("agent", "marketer", "analyst"))],
    _limit: Annotated[None, Depends(rate_limited("enrich"))],
) -> EnrichResponse:
    """One result per text, in order. 422 on an empty batch, > 256 texts or a text over 10,000 chars."""
    results = await run_in_threadpool(enricher.enrich, body.texts)
    return EnrichResponse(results=results)
