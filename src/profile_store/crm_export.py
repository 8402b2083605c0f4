"""CRM export: one row per customer for re-import into the CRM — the crm_id, every identity key, the CRM's
attributes and consent, and what sCRM knows (lifecycle, influence, sentiment, segments) — as CSV or JSON
lines. Rows are read page by page and rendered as they come (constant memory for any number of customers).

The columns are the import's (``crm_columns``), so ``scrm import-crm`` reads an export back unchanged:
``crm_id``, ``handles``, ``consent_<channel>``, one column per CRM attribute (``name:type`` where the bare
name would read back as another type), and the computed ``scrm_*`` columns the import ignores.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Text, cast, select
from sqlalchemy.orm import Session

from profile_store.contracts import Consent, CrmValue, CustomerProfile, Lifecycle, SentimentSummary
from profile_store.crm_columns import KNOWN_TYPES, header_of
from profile_store.crm_profile import CRM_PREFIX
from profile_store.crm_records import iter_crm_records
from profile_store.segments.store import SegmentMemberRow
from profile_store.tables import ProfileRow
from sqlkit import any_of

ExportFormat = Literal["csv", "jsonl"]
CHANNELS = tuple(Consent.model_fields)
SCRM_COLUMNS = ("scrm_customer_id", "scrm_lifecycle", "scrm_influence", "scrm_sentiment", "scrm_positive",
                "scrm_neutral", "scrm_negative", "scrm_segments")
_FLUSH_ROWS = 500


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ScrmView(_Frozen):
    """What sCRM computed about the customer (ignored when the export is imported again)."""

    customer_id: str
    lifecycle: Lifecycle
    influence: float
    sentiment: SentimentSummary
    segments: tuple[str, ...] = ()


class CrmExportRow(_Frozen):
    """One customer of the export (schema version 1), as one JSON line; the CSV flattens it."""

    schema_version: Literal[1] = 1
    crm_id: str | None
    handles: tuple[str, ...]
    consent: Consent
    attributes: dict[str, CrmValue]
    scrm: ScrmView


def iter_export_rows(*, session: Session, crm_only: bool = False, page: int = 1000) -> Iterator[CrmExportRow]:
    """Every profile (``crm_only``: those with a crm_id) in customer id order, page by page, with its
    segments. Blocks while reading."""
    after: str | None = None
    while True:
        query = select(ProfileRow.customer_id, cast(ProfileRow.data, Text)).order_by(ProfileRow.customer_id).limit(page)
        if after is not None:
            query = query.where(ProfileRow.customer_id > after)
        rows = session.execute(query).all()
        profiles = [CustomerProfile.model_validate_json(text) for _, text in rows]
        segments = _segments_of([p.customer_id for p in profiles], session)
        for profile in profiles:
            if profile.crm_id or not crm_only:
                yield _export_row(profile, segments.get(profile.customer_id, ()))
        if len(rows) < page:
            return
        after = rows[-1][0]


def attribute_headers(*, session: Session) -> dict[str, str]:
    """``attribute -> CSV header`` over every stored CRM record, sorted by attribute: ``name:type`` where
    the bare name would read back as another type; an attribute whose records disagree on its type is
    written as text. Reads every record once (constant memory but for the names)."""
    types: dict[str, set[str]] = {}
    for record in iter_crm_records(session=session):
        for name, value in record.attributes.items():
            types.setdefault(name, set()).add(header_of(name, value))
    return {name: found.pop() if len(found) == 1 else (name if KNOWN_TYPES.get(name, "text") == "text" else f"{name}:text")
            for name, found in sorted(types.items())}


def render_csv(rows: Iterable[CrmExportRow], headers: dict[str, str]) -> Iterator[str]:
    """The header row, then one row per customer, in chunks of text. ``headers``: ``attribute_headers``."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["crm_id", "handles", *(f"consent_{c}" for c in CHANNELS), *headers.values(), *SCRM_COLUMNS])
    for n, row in enumerate(rows, start=1):
        view, sentiment = row.scrm, row.scrm.sentiment
        writer.writerow([
            row.crm_id or "", ";".join(row.handles), *(_cell(getattr(row.consent, c)) for c in CHANNELS),
            *(_cell(row.attributes.get(name)) for name in headers),
            view.customer_id, view.lifecycle, f"{view.influence:g}", f"{sentiment.ewma:g}", sentiment.positive,
            sentiment.neutral, sentiment.negative, ";".join(view.segments),
        ])
        if n % _FLUSH_ROWS == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


def render_jsonl(rows: Iterable[CrmExportRow]) -> Iterator[str]:
    """One JSON object (``CrmExportRow``) per line, in chunks of text."""
    lines: list[str] = []
    for row in rows:
        lines.append(row.model_dump_json() + "\n")
        if len(lines) == _FLUSH_ROWS:
            yield "".join(lines)
            lines = []
    yield "".join(lines)


def _export_row(profile: CustomerProfile, segments: tuple[str, ...]) -> CrmExportRow:
    return CrmExportRow(
        crm_id=profile.crm_id,
        handles=tuple(key for key in profile.identities if not key.startswith(CRM_PREFIX)),
        consent=profile.consent, attributes=profile.crm,
        scrm=ScrmView(customer_id=profile.customer_id, lifecycle=profile.lifecycle, influence=profile.influence,
                      sentiment=profile.sentiment, segments=segments),
    )


def _segments_of(customer_ids: list[str], session: Session) -> dict[str, tuple[str, ...]]:
    if not customer_ids:
        return {}
    query = (select(SegmentMemberRow.customer_id, SegmentMemberRow.segment)
             .where(any_of(SegmentMemberRow.customer_id, customer_ids, session=session))
             .order_by(SegmentMemberRow.customer_id, SegmentMemberRow.segment))
    found: dict[str, list[str]] = {}
    for customer_id, segment in session.execute(query):
        found.setdefault(customer_id, []).append(segment)
    return {customer_id: tuple(names) for customer_id, names in found.items()}


def _cell(value: CrmValue | bool | None) -> str:
    """A value as a CSV cell the import reads back: booleans ``true``/``false``, lists ``;``-joined."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ";".join(value)
    return str(value)
