"""Segments: save a rule, preview its count, read members page by page, export them as CSV, see entries
and exits. Marketers (and admins) create and delete; marketers and analysts read.

A rule comes as its JSON (``rule``) or its text form (``text``, docs/segments.md); a refused one gets 400
with every problem. Creating a segment evaluates it over every profile before answering; after that the
apply lane keeps its members live (``profile_store.segments.membership``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from api.auth import Principal
from api.deps import get_session, require_role
from api.openapi import errors
from api.ratelimit import rate_limited
from profile_store.exceptions import InvalidSegmentRule, SegmentExists
from profile_store.segments import SegmentRule, parse_rule, parse_text, to_text
from profile_store.segments.fields import EVENT_FILTERS, FAMILIES, FIELDS, FieldSpec, field_spec
from profile_store.segments.membership import CountPoint, SegmentChange, segment_counts, segment_history
from profile_store.segments.store import (
    MEMBER_CSV_COLUMNS,
    SEGMENT_NAME_PATTERN,
    Member,
    Segment,
    count_matching,
    count_members,
    create_segment,
    delete_segment,
    get_segment,
    iter_members,
    list_segments,
    members_page,
    withheld_for_consent,
)

router = APIRouter(prefix="/v1/segments", tags=["segments"])
SessionDep = Annotated[Session, Depends(get_session)]
Reader = Depends(require_role("marketer", "analyst"))
Editor = require_role("marketer")


class RuleIn(BaseModel):
    """A rule as JSON (``rule``) or in the text form (``text``): exactly one."""

    model_config = ConfigDict(extra="forbid")

    rule: dict[str, Any] | None = None
    text: str | None = Field(default=None, max_length=20_000)

    def parsed(self) -> SegmentRule:
        """The rule; 400 with every problem when refused or when not exactly one form is given."""
        if (self.rule is None) == (self.text is None):
            raise HTTPException(status_code=400, detail="give the rule as 'rule' (JSON) or as 'text', not both")
        try:
            return parse_rule(self.rule) if self.rule is not None else parse_text(self.text or "")
        except InvalidSegmentRule as exc:
            raise HTTPException(status_code=400, detail="; ".join(exc.problems)) from None


class SegmentIn(RuleIn):
    name: str = Field(pattern=SEGMENT_NAME_PATTERN)


class SegmentOut(BaseModel):
    name: str
    rule: dict[str, Any]
    text: str
    members: int
    created_by: str
    created_at: datetime
    evaluated_at: datetime
    clock: datetime | None

    @classmethod
    def of(cls, segment: Segment) -> SegmentOut:
        return cls(name=segment.name, rule=segment.rule.to_json(), text=to_text(segment.rule),
                   members=segment.members, created_by=segment.created_by, created_at=segment.created_at,
                   evaluated_at=segment.evaluated_at, clock=segment.clock)


class Preview(BaseModel):
    members: int


class MembersPage(BaseModel):
    total: int
    members: list[Member]
    next: str | None = Field(description="pass as 'after' for the next page; null on the last")
    withheld_for_consent: int = Field(description="members left out of every page: they withdrew marketing "
                                      "consent (counted in total)")


def _found(name: str, session: Session) -> Segment:
    segment = get_segment(name, session=session)
    if segment is None:
        raise HTTPException(status_code=404, detail="no such segment")
    return segment


@router.get("", dependencies=[Reader])
def read_segments(session: SessionDep) -> list[SegmentOut]:
    """Every segment with its member count."""
    return [SegmentOut.of(s) for s in list_segments(session=session)]


class FieldOut(BaseModel):
    """A field a rule may filter on, the ops that apply to it and, for a closed set, its values."""

    name: str
    kind: str
    ops: list[str]
    choices: list[str] | None


class FieldsOut(BaseModel):
    """What the console's builder offers: the fields, the open families (``crm.<attribute>``,
    ``consent.<channel>``) and the event-condition filters with their values."""

    fields: list[FieldOut]
    families: list[FieldOut]
    event_filters: dict[str, list[str] | None]


@router.get("/fields", dependencies=[Reader])
def read_fields() -> FieldsOut:
    """The whitelist rules are checked against (``docs/segments.md`` describes each field)."""
    def out(spec: FieldSpec) -> FieldOut:
        return FieldOut(name=spec.name, kind=spec.kind, ops=list(spec.ops),
                        choices=sorted(spec.choices) if spec.choices else None)

    return FieldsOut(fields=[out(spec) for spec in FIELDS.values()],
                     families=[out(field_spec(f"{prefix}.attribute")) for prefix in FAMILIES],
                     event_filters={name: sorted(spec.choices) if spec.choices else None
                                    for name, spec in EVENT_FILTERS.items()})


@router.post("/preview", dependencies=[Reader, Depends(rate_limited("dashboards"))], responses=errors(429))
def preview_segment(body: RuleIn, session: SessionDep) -> Preview:
    """How many profiles the rule selects now, without saving it."""
    return Preview(members=count_matching(body.parsed(), session=session))


@router.post("", status_code=status.HTTP_201_CREATED, responses=errors(409))
def save_segment(body: SegmentIn, session: SessionDep,
                 actor: Annotated[Principal, Depends(Editor)]) -> SegmentOut:
    """Save a segment (by the key's name) and evaluate it over every profile; 409 if the name is taken."""
    rule = body.parsed()
    try:
        with session.begin():
            return SegmentOut.of(create_segment(body.name, rule, by=actor.name, at=datetime.now(UTC),
                                                session=session))
    except SegmentExists:
        raise HTTPException(status_code=409, detail="a segment with this name exists") from None


@router.get("/{name}", dependencies=[Reader], responses=errors(404))
def read_segment(name: str, session: SessionDep) -> SegmentOut:
    """One segment: its rule (JSON and text) and member count."""
    return SegmentOut.of(_found(name, session))


@router.delete("/{name}", status_code=status.HTTP_204_NO_CONTENT, responses=errors(404))
def remove_segment(name: str, session: SessionDep, _actor: Annotated[Principal, Depends(Editor)]) -> Response:
    """Delete a segment, its members and its history."""
    with session.begin():
        if not delete_segment(name, session=session):
            raise HTTPException(status_code=404, detail="no such segment")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{name}/members", dependencies=[Reader], responses=errors(404))
def read_members(name: str, session: SessionDep,
                 after: Annotated[str | None, Query(max_length=64, description="the last customer id seen")] = None,
                 limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> MembersPage:
    """Members by customer id, a page at a time (keyset: pass ``next`` as ``after``), with the total;
    members who withdrew marketing consent are left out and counted (``withheld_for_consent``)."""
    _found(name, session)
    page = members_page(name, after=after, limit=limit, marketable=True, session=session)
    return MembersPage(total=count_members(name, session=session), members=page,
                       next=page[-1].customer_id if len(page) == limit else None,
                       withheld_for_consent=withheld_for_consent(name, session=session))


@router.get("/{name}/members.csv", dependencies=[Reader, Depends(rate_limited("export"))],
            response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}}, "description": "header row, then one row per member; "
                             "X-Withheld-For-Consent: how many members were left out for their consent"},
                       **errors(404, 429)})
def export_members(name: str, request: Request, session: SessionDep) -> StreamingResponse:
    """Every member as CSV, streamed page by page (constant memory for any size), but those who withdrew
    marketing consent: how many were left out is the ``X-Withheld-For-Consent`` header (counted as the
    export starts)."""
    _found(name, session)
    withheld = withheld_for_consent(name, session=session)
    session_factory = request.app.state.session_factory

    def rows() -> Iterator[str]:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(MEMBER_CSV_COLUMNS)
        with session_factory() as reading:
            for n, member in enumerate(iter_members(name, marketable=True, session=reading), start=1):
                writer.writerow(member.csv_row())
                if n % 500 == 0:
                    yield out.getvalue()
                    out.seek(0)
                    out.truncate()
        yield out.getvalue()

    return StreamingResponse(rows(), media_type="text/csv",
                             headers={"Content-Disposition": f'attachment; filename="{name}.csv"',
                                      "X-Withheld-For-Consent": str(withheld)})


class HistoryPage(BaseModel):
    """Entries and exits, oldest first; ``next``: pass it as ``after`` for the following page (null: no more)."""

    changes: list[SegmentChange]
    next: int | None


@router.get("/{name}/history", dependencies=[Reader], responses=errors(404))
def read_history(name: str, session: SessionDep,
                 after: Annotated[int | None, Query(ge=0, description="the last change id seen")] = None,
                 limit: Annotated[int, Query(ge=1, le=1000)] = 500) -> HistoryPage:
    """Entries and exits, oldest first, a page at a time (keyset), each with the event or signal that
    caused it (``cause``: an event key, ``link:``/``unlink:`` for identity merges and splits, ``sweep:`` for
    the sweep; null for the evaluation on creation)."""
    _found(name, session)
    changes = segment_history(name, after=after, limit=limit, session=session)
    return HistoryPage(changes=changes, next=changes[-1].change_id if len(changes) == limit else None)


@router.get("/{name}/counts", dependencies=[Reader], responses=errors(404))
def read_counts(name: str, session: SessionDep,
                points: Annotated[int, Query(ge=2, le=500)] = 60) -> list[CountPoint]:
    """The member count over event time, in at most ``points`` stretches (the console's chart)."""
    _found(name, session)
    return segment_counts(name, points=points, session=session)
