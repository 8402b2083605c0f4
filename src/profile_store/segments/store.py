"""Saved segments and their members (tables ``segments`` and ``segment_members``).

A segment is a name, a rule (``segments.dsl``, stored as its JSON) and who made it. Creating one evaluates
it over every existing profile in the database (the compiled rule, one query), so its members are there when ``create_segment`` returns. ``reevaluate`` recomputes members the same way and
returns who entered and who left. Days in rules count back from the stream's event-time clock: the newest
``last_seen`` of any profile (``event_clock``), so a replay gives the same members. Repository functions
take a keyword-only ``session`` and never commit.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import (
    JSON,
    ColumnElement,
    DateTime,
    ForeignKey,
    Integer,
    Select,
    String,
    and_,
    delete,
    exists,
    func,
    insert,
    literal,
    select,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from profile_store.consents import profile_allows
from profile_store.exceptions import SegmentExists
from profile_store.segments.compile import compile_rule, rule_condition
from profile_store.segments.dsl import SegmentRule, parse_rule
from profile_store.tables import ProfileRow
from sqlkit import as_aware

SEGMENT_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"


class Segment(BaseModel):
    """A saved segment: its rule, who made it when, and its member count at the last evaluation."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(pattern=SEGMENT_NAME_PATTERN)
    rule: SegmentRule
    created_at: datetime
    created_by: str
    evaluated_at: datetime
    clock: datetime | None = Field(description="the event-time clock the members were evaluated at")
    members: int


MEMBER_CSV_COLUMNS = ("customer_id", "display_name", "lifecycle", "influence", "since")
"""The header of a segment's CSV export (``scrm segments members --format csv``, ``members.csv``)."""


class Member(BaseModel):
    """One member row as marketers export it."""

    model_config = ConfigDict(frozen=True)

    customer_id: str
    display_name: str | None
    lifecycle: str
    influence: float
    since: datetime

    def csv_row(self) -> list[str]:
        """The member's values under ``MEMBER_CSV_COLUMNS``."""
        return [self.customer_id, self.display_name or "", self.lifecycle, f"{self.influence:.6g}",
                self.since.isoformat()]


class SegmentBase(DeclarativeBase):
    """Declarative base of the segment tables."""


class SegmentRow(SegmentBase):
    __tablename__ = "segments"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    rule: Mapped[dict[str, object]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(128))
    evaluated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    clock: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    members: Mapped[int] = mapped_column(Integer)


class SegmentMemberRow(SegmentBase):
    __tablename__ = "segment_members"

    segment: Mapped[str] = mapped_column(String(64), ForeignKey("segments.name", ondelete="CASCADE"),
                                         primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SegmentChangeRow(SegmentBase):
    """Every entry and exit: ``cause`` is the event key that caused it, ``None`` for an evaluation (on
    creation, by ``reevaluate``)."""

    __tablename__ = "segment_changes"

    change_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    segment: Mapped[str] = mapped_column(String(64), index=True)
    customer_id: Mapped[str] = mapped_column(String(64))
    change: Mapped[str] = mapped_column(String(8))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    cause: Mapped[str | None] = mapped_column(String(600), index=True)


def event_clock(*, session: Session) -> datetime | None:
    """The stream's event-time clock: the newest ``last_seen`` of any profile (``None`` with no profiles)."""
    newest = session.scalar(select(func.max(ProfileRow.last_seen)))
    return None if newest is None else as_aware(newest)


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def count_matching(rule: SegmentRule, *, session: Session) -> int:
    """How many profiles the rule selects now (the preview before saving). Blocks."""
    now = event_clock(session=session) or datetime.now(UTC)
    query = compile_rule(rule, now=now, dialect=_dialect(session)).subquery()
    return int(session.scalar(select(func.count()).select_from(query)) or 0)


def create_segment(name: str, rule: SegmentRule, *, by: str, at: datetime, session: Session) -> Segment:
    """Save a segment and evaluate it over every profile. Raises ``SegmentExists`` for a taken name."""
    if session.get(SegmentRow, name) is not None:
        raise SegmentExists(name)
    Segment.model_validate({"name": name, "rule": rule, "created_at": at, "created_by": by, "evaluated_at": at,
                            "clock": None, "members": 0})
    session.add(SegmentRow(name=name, rule=rule.to_json(), created_at=at, created_by=by, evaluated_at=at,
                           clock=None, members=0))
    session.flush()
    reevaluate(name, at=at, session=session)
    found = get_segment(name, session=session)
    assert found is not None
    return found


def _drift(name: str, rule: dict[str, object], clock: datetime, session: Session) -> tuple[
        ColumnElement[bool], ColumnElement[bool], ColumnElement[bool]]:
    """``(matching, leaving, entering)``: the rule over ``profiles`` at ``clock``; the members whose profile
    no longer matches (or is gone); the profiles that match and are not members (anti-joins)."""
    condition = rule_condition(parse_rule(rule), now=clock, dialect=_dialect(session))
    member, profile = SegmentMemberRow, ProfileRow
    still_matching = exists().where(profile.customer_id == member.customer_id, condition)
    already = exists().where(member.segment == name, member.customer_id == profile.customer_id)
    return condition, and_(member.segment == name, ~still_matching), and_(condition, ~already)


def drifted(name: str, *, session: Session) -> tuple[list[str], datetime | None] | None:
    """The customers whose membership the rule now decides differently (at the stream's event-time clock:
    a window closed with time alone), and that clock: what the sweep re-decides. Plain reads with
    anti-joins, no lock held, so the apply lane never waits for them. ``None`` for an unknown segment.
    Blocks."""
    row = session.get(SegmentRow, name)
    if row is None:
        return None
    clock = event_clock(session=session)
    if clock is None:
        return [], None
    _, leaving, entering = _drift(name, row.rule, clock, session)
    leavers = session.scalars(select(SegmentMemberRow.customer_id).where(leaving))
    entrants = session.scalars(select(ProfileRow.customer_id).where(entering))
    return sorted({*leavers, *entrants}), clock


def reevaluate(name: str, *, at: datetime, session: Session) -> tuple[int, int]:
    """Recompute a segment's members from the rule at the current event-time clock, set-based in SQL
    (``INSERT ... SELECT`` and ``DELETE`` with anti-joins: nothing per profile passes through Python, so a
    segment of a million members is created in seconds); ``(entered, left)`` counts, each change recorded
    without a cause (the evaluation on creation, which nobody publishes). Members who stay keep their
    ``since``. Raises ``LookupError`` for an unknown segment."""
    row = session.get(SegmentRow, name)
    if row is None:
        raise LookupError(name)
    clock = event_clock(session=session)
    _, leaving, entering = _drift(name, row.rule, clock or at, session)
    member, profile = SegmentMemberRow, ProfileRow
    stamp = literal(clock or at, DateTime(timezone=True))
    watermark = int(session.scalar(select(func.max(SegmentChangeRow.change_id))) or 0)

    def record(change: str, ids: Select[Any]) -> None:
        found = ids.subquery()
        session.execute(insert(SegmentChangeRow).from_select(
            ["segment", "customer_id", "change", "at", "cause"],
            select(literal(name), found.c.customer_id, literal(change), stamp, literal(None, String))))

    record("leave", select(member.customer_id).where(leaving).order_by(member.customer_id))
    left = session.execute(delete(member).where(leaving)).rowcount  # type: ignore[attr-defined]
    record("enter", select(profile.customer_id).where(entering).order_by(profile.customer_id))
    # members from the entries just recorded, not from an anti-join against segment_members itself: an
    # INSERT reading the table it fills, planned while the table looked empty, rescans every row it has
    # added for each row it adds (minutes for 100,000 members on PostgreSQL, measured)
    entries = and_(SegmentChangeRow.change_id > watermark, SegmentChangeRow.segment == name,
                   SegmentChangeRow.change == "enter", SegmentChangeRow.cause.is_(None))
    entered = session.execute(insert(member).from_select(
        ["segment", "customer_id", "since"],
        select(SegmentChangeRow.segment, SegmentChangeRow.customer_id, literal(at, DateTime(timezone=True)))
        .where(entries)).execution_options(preserve_rowcount=True)).rowcount  # type: ignore[attr-defined]
    row.evaluated_at, row.clock = at, clock
    row.members = count_members(name, session=session)
    session.flush()
    return entered, left


def _segment(row: SegmentRow) -> Segment:
    return Segment(name=row.name, rule=parse_rule(row.rule), created_at=as_aware(row.created_at),
                   created_by=row.created_by, evaluated_at=as_aware(row.evaluated_at),
                   clock=as_aware(row.clock) if row.clock else None, members=row.members)


def get_segment(name: str, *, session: Session) -> Segment | None:
    """One saved segment, or ``None``."""
    row = session.get(SegmentRow, name)
    return None if row is None else _segment(row)


def list_segments(*, session: Session) -> list[Segment]:
    """Every saved segment, by name."""
    return [_segment(row) for row in session.scalars(select(SegmentRow).order_by(SegmentRow.name))]


def delete_segment(name: str, *, session: Session) -> bool:
    """Remove a segment, its members and its history; ``False`` if there was none."""
    session.execute(delete(SegmentMemberRow).where(SegmentMemberRow.segment == name))
    session.execute(delete(SegmentChangeRow).where(SegmentChangeRow.segment == name))
    return bool(session.execute(delete(SegmentRow).where(SegmentRow.name == name)).rowcount)  # type: ignore[attr-defined]


def members_page(name: str, *, after: str | None = None, limit: int = 100, marketable: bool = False,
                 session: Session) -> list[Member]:
    """Members by customer id, the ``limit`` after ``after`` (keyset pagination: pass the last id seen);
    ``marketable``: only those whose consent allows marketing (``consents.allows``: not withdrawn), as
    every export of members is."""
    query = (select(SegmentMemberRow.customer_id, ProfileRow.display_name, ProfileRow.lifecycle,
                    ProfileRow.influence, SegmentMemberRow.since)
             .join(ProfileRow, ProfileRow.customer_id == SegmentMemberRow.customer_id)
             .where(SegmentMemberRow.segment == name)
             .order_by(SegmentMemberRow.customer_id).limit(limit))
    if after is not None:
        query = query.where(SegmentMemberRow.customer_id > after)
    if marketable:
        query = query.where(profile_allows("marketing", dialect=_dialect(session)))
    # rows of typed columns: constructed without re-validation (an export builds hundreds of thousands)
    return [Member.model_construct(customer_id=c, display_name=d, lifecycle=lc, influence=float(i), since=as_aware(s))
            for c, d, lc, i, s in session.execute(query)]


def count_members(name: str, *, session: Session) -> int:
    """How many members a segment has now: an index-only count of its rows (a customer whose profile goes
    leaves in the same transaction: merges in the identity lane, erasure)."""
    return int(session.scalar(select(func.count()).select_from(SegmentMemberRow)
                              .where(SegmentMemberRow.segment == name)) or 0)


def withheld_for_consent(name: str, *, session: Session) -> int:
    """How many members an export leaves out: those who withdrew marketing consent."""
    return int(session.scalar(select(func.count()).select_from(SegmentMemberRow)
                              .join(ProfileRow, ProfileRow.customer_id == SegmentMemberRow.customer_id)
                              .where(SegmentMemberRow.segment == name,
                                     ~profile_allows("marketing", dialect=_dialect(session)))) or 0)


def iter_members(name: str, *, page: int = 2000, marketable: bool = False, session: Session) -> Iterator[Member]:
    """Every member (``marketable``: as ``members_page``), page by page (constant memory for an export of
    any size)."""
    after: str | None = None
    while True:
        rows = members_page(name, after=after, limit=page, marketable=marketable, session=session)
        yield from rows
        if len(rows) < page:
            return
        after = rows[-1].customer_id
