"""Live segment membership: as the apply lane changes profiles, every saved segment is re-decided for the
customers the batch changed, inside the same transaction, and each entry or exit is recorded
(``segment_changes``) with the event that caused it.

The record is what makes the changes topic at-least-once: the apply lane publishes, for every batch, the
changes its events caused (``changes_caused_by``: those it just made and those an earlier attempt of the same
batch made before a crash), so a worker killed between commit and publish re-publishes them on replay, and
consumers deduplicate by ``change_id``. Days in rules count back from each segment's event-time clock,
moved forward to the newest event time of each batch (never the wall clock). Repository functions take a
keyword-only ``session`` and never commit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import case, delete, func, insert, select, update
from sqlalchemy.orm import Session

from profile_store.segments.compile import compile_rule
from profile_store.segments.dsl import parse_rule
from profile_store.segments.store import SegmentChangeRow, SegmentMemberRow, SegmentRow, event_clock
from sqlkit import any_of, as_aware


class SegmentChange(BaseModel):
    """A customer entered or left a segment (``scrm.segments.changes``, key ``customer_id``), because of
    the event ``cause`` (its event key: platform, author id, event id), at event time ``at``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    change_id: int
    segment: str
    customer_id: str
    change: Literal["enter", "leave"]
    at: datetime
    cause: str | None


def _change(row: SegmentChangeRow) -> SegmentChange:
    return SegmentChange(change_id=row.change_id, segment=row.segment, customer_id=row.customer_id,
                         change=row.change, at=as_aware(row.at), cause=row.cause)  # type: ignore[arg-type]


def apply_batch_memberships(causes: Mapping[str, str], newest: datetime | None, event_keys: Sequence[str], *,
                            session: Session) -> list[SegmentChange]:
    """What a batch does to segments: re-decide every saved segment for the customers in ``causes``
    (customer id -> the key of the event or signal that changed or deleted them; a deleted customer
    leaves), with each segment's clock moved forward to ``newest`` (the batch's newest event time;
    ``None``: the clock stays, as for identity changes, which carry no event time), record the entries
    and exits, and return every change the batch's ``event_keys`` caused (now or in an earlier attempt).
    Without segments, one query and nothing else. Blocks."""
    segments = session.scalars(select(SegmentRow).order_by(SegmentRow.name)).all()
    if not segments:
        return []
    if causes:
        _update(segments, causes, newest, session=session)
    return changes_caused_by(event_keys, session=session)


def _update(segments: Sequence[SegmentRow], causes: Mapping[str, str], newest: datetime | None, *,
            session: Session) -> None:
    """Re-decide ``segments`` for the customers in ``causes``. Each segment's row is locked (its clock
    moved) before any of its member rows is touched: apply workers and the sweep take segment rows in the
    same order (by name), so they queue instead of deadlocking."""
    dialect = session.get_bind().dialect.name
    customers = sorted(causes)
    fallback = newest or event_clock(session=session)
    for row in segments:
        stored = as_aware(row.clock) if row.clock else None
        clock = (max(stored, newest) if newest else stored) if stored else fallback
        if clock is None:  # no profile at all: nobody can be a member
            continue
        # an expression, not a read-modify-write: apply workers of other partitions update the same row
        later = case((SegmentRow.clock.is_(None), clock), (SegmentRow.clock < clock, clock), else_=SegmentRow.clock)
        session.execute(update(SegmentRow).where(SegmentRow.name == row.name).values(clock=later))
        selected = compile_rule(parse_rule(row.rule), now=clock, dialect=dialect).subquery()
        inside = set(session.scalars(select(selected.c.customer_id).where(
            any_of(selected.c.customer_id, customers, session=session))))
        before = set(session.scalars(select(SegmentMemberRow.customer_id).where(
            SegmentMemberRow.segment == row.name, any_of(SegmentMemberRow.customer_id, customers, session=session))))
        entered, left = sorted(inside - before), sorted(before - inside)
        if left:
            session.execute(delete(SegmentMemberRow).where(SegmentMemberRow.segment == row.name,
                                                           any_of(SegmentMemberRow.customer_id, left, session=session)))
        if entered:
            session.execute(insert(SegmentMemberRow),
                            [{"segment": row.name, "customer_id": c, "since": clock} for c in entered])
        changes = [("enter", c) for c in entered] + [("leave", c) for c in left]
        if changes:
            session.execute(insert(SegmentChangeRow), [
                {"segment": row.name, "customer_id": c, "change": kind, "at": clock, "cause": causes[c]}
                for kind, c in changes])
            session.execute(update(SegmentRow).where(SegmentRow.name == row.name).values(
                members=SegmentRow.members + len(entered) - len(left)))


REDECIDE_CHUNK = 5000
"""Customers re-decided per statement by ``redecide``."""


def redecide(name: str, customers: Sequence[str], *, cause: str, newest: datetime | None, at: datetime,
             session: Session) -> list[SegmentChange] | None:
    """Re-decide one segment for ``customers`` (what the sweep found drifting), as the apply lane does,
    recording changes with ``cause``, and mark the segment evaluated at wall time ``at``; the changes made
    with ``cause``. ``None`` if the segment is gone. Blocks."""
    row = session.get(SegmentRow, name)
    if row is None:
        return None
    for start in range(0, len(customers), REDECIDE_CHUNK):
        _update([row], dict.fromkeys(customers[start:start + REDECIDE_CHUNK], cause), newest, session=session)
    session.execute(update(SegmentRow).where(SegmentRow.name == name).values(evaluated_at=at))
    return changes_caused_by([cause], session=session)


def changes_caused_by(event_keys: Sequence[str], *, session: Session) -> list[SegmentChange]:
    """Every recorded change whose cause is one of ``event_keys``, in the order they were made."""
    if not event_keys:
        return []
    rows = session.scalars(select(SegmentChangeRow).where(any_of(SegmentChangeRow.cause, sorted(set(event_keys)), session=session))
                           .order_by(SegmentChangeRow.change_id))
    return [_change(row) for row in rows]


def segment_history(name: str, *, after: int | None = None, limit: int = 1000,
                    session: Session) -> list[SegmentChange]:
    """A segment's entries and exits, oldest first: the ``limit`` after change id ``after`` (keyset)."""
    query = select(SegmentChangeRow).where(SegmentChangeRow.segment == name)
    if after is not None:
        query = query.where(SegmentChangeRow.change_id > after)
    rows = session.scalars(query.order_by(SegmentChangeRow.change_id).limit(limit))
    return [_change(row) for row in rows]


class CountPoint(BaseModel):
    """A segment's size at the end of a stretch of event time, and who entered and left during it."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    members: int
    entered: int
    left: int


def segment_counts(name: str, *, points: int = 60, session: Session) -> list[CountPoint]:
    """A segment's member count over event time (the changes' ``at``): stretches of equal width, the first
    starting at the first change and the last (of at most ``points``) at the last change; each point is a
    stretch's start with the members at its end and who entered and left in it (stretches without a
    change are left out). ``[]`` before any change. One grouped query, whatever the number of changes.
    Blocks."""
    grouped = session.execute(
        select(SegmentChangeRow.at, SegmentChangeRow.change, func.count())
        .where(SegmentChangeRow.segment == name)
        .group_by(SegmentChangeRow.at, SegmentChangeRow.change).order_by(SegmentChangeRow.at)).all()
    if not grouped:
        return []
    first, last = as_aware(grouped[0][0]), as_aware(grouped[-1][0])
    width = max((last - first) / max(1, points - 1), timedelta(seconds=1))
    series: list[CountPoint] = []
    members = entered = left = 0
    bucket = 0
    for at, change, count in grouped:
        index = int((as_aware(at) - first) / width)
        if index != bucket and (entered or left):
            series.append(CountPoint(at=first + width * bucket, members=members, entered=entered, left=left))
            entered = left = 0
        bucket = index
        if change == "enter":
            members, entered = members + count, entered + count
        else:
            members, left = members - count, left + count
    series.append(CountPoint(at=first + width * bucket, members=members, entered=entered, left=left))
    return series


def changes_after(change_id: int, *, session: Session, limit: int = 1000) -> list[SegmentChange]:
    """Entries and exits of every segment with a change id above ``change_id``, in id order, at most
    ``limit``: the analytics sync's feed. Blocks."""
    rows = session.scalars(select(SegmentChangeRow).where(SegmentChangeRow.change_id > change_id)
                           .order_by(SegmentChangeRow.change_id).limit(limit))
    return [_change(row) for row in rows]
