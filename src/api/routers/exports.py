"""``GET /v1/export/crm``: every customer for the CRM (what ``scrm export-crm`` writes), streamed page by
page in constant memory. Marketers (and admins); rate limited as an export."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from api.deps import require_role
from api.openapi import errors
from api.ratelimit import rate_limited
from profile_store.crm_export import (
    ExportFormat,
    attribute_headers,
    iter_export_rows,
    render_csv,
    render_jsonl,
)

router = APIRouter(prefix="/v1/export", tags=["export"])
MEDIA_TYPES: dict[ExportFormat, str] = {"csv": "text/csv", "jsonl": "application/x-ndjson"}


@router.get("/crm", dependencies=[Depends(require_role("marketer")), Depends(rate_limited("export"))],
            response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}, "application/x-ndjson": {}},
                             "description": "CSV (a header row, then one row per customer) or JSON lines "
                             "(one CrmExportRow per line); columns in docs/importers.md"},
                       **errors(429)})
def export_crm(
    request: Request,
    format: Annotated[ExportFormat, Query(description="csv or jsonl")] = "csv",
    crm_only: Annotated[bool, Query(description="only customers with a crm_id")] = False,
) -> StreamingResponse:
    """One row per customer: crm_id, every identity key, consent, the CRM's attributes, and sCRM's
    lifecycle, influence, sentiment and segments — the columns ``scrm import-crm`` reads back."""
    session_factory = request.app.state.session_factory

    def chunks() -> Iterator[str]:
        with session_factory() as session:
            rows = iter_export_rows(session=session, crm_only=crm_only)
            yield from (render_jsonl(rows) if format == "jsonl" else render_csv(rows, attribute_headers(session=session)))

    filename = f"crm-export.{format}"
    return StreamingResponse(chunks(), media_type=MEDIA_TYPES[format],
                             headers={"Content-Disposition": f'attachment; filename="{filename}"'})
