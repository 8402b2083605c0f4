"""The profile store's side of re-scoring stored events (``streams.jobs.rescore``): page through the
stored events of a time range, and write their re-scored payloads back. Repository functions take a
keyword-only ``session`` and never commit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from profile_store.tables import ProfileEventRow
from sqlkit import JsonText


def events_page(*, since: datetime | None, until: datetime | None, after: str | None, limit: int,
                session: Session) -> list[tuple[str, str, dict[str, Any]]]:
    """Up to ``limit`` stored events with ``since <= occurred_at <= until`` (either open), by event key
    after ``after``: ``(event_key, identity_key, data)``."""
    query = select(ProfileEventRow.event_key, ProfileEventRow.identity_key, ProfileEventRow.data).where(
        *_between(since, until))
    if after is not None:
        query = query.where(ProfileEventRow.event_key > after)
    rows = session.execute(query.order_by(ProfileEventRow.event_key).limit(limit))
    return [(row.event_key, row.identity_key, row.data) for row in rows]


def count_events_between(*, since: datetime | None, until: datetime | None, session: Session) -> int:
    """How many stored events ``events_page`` would go through."""
    return int(session.scalar(select(func.count()).select_from(ProfileEventRow).where(*_between(since, until))) or 0)


def _between(since: datetime | None, until: datetime | None) -> list[ColumnElement[bool]]:
    """The conditions of ``since <= occurred_at <= until`` (either open)."""
    return [*([ProfileEventRow.occurred_at >= since] if since is not None else []),
            *([ProfileEventRow.occurred_at <= until] if until is not None else [])]


def replace_event_data(payloads: dict[str, str], *, session: Session) -> None:
    """Overwrite the stored payload (``data``, JSON text) of each event key."""
    if payloads:
        table: Table = ProfileEventRow.__table__  # type: ignore[assignment]
        session.connection().execute(update(table).where(table.c.event_key == bindparam("key"))
                                     .values(data=bindparam("payload")),
                                     [{"key": key, "payload": JsonText(data)} for key, data in payloads.items()])
