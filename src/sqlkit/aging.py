"""Batched work on rows by age, for retention: delete rows stored before a time, and rewrite the JSON
documents of rows stored in a time window, a page per call (each call one short statement or two, so the
caller commits between pages and never holds a long transaction). Dialect-neutral (SQLite, PostgreSQL).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, Text, and_, cast, delete, func, select, tuple_, update
from sqlalchemy.orm import Session

from sqlkit.membership import any_of


def delete_older(table: Table, *, when: str, key: str, before: datetime, limit: int, session: Session) -> int:
    """Delete up to ``limit`` rows whose ``when`` column is earlier than ``before`` (oldest first, found by
    the ``key`` column, which must be unique); returns how many. Idempotent; never commits."""
    keys = list(session.scalars(select(table.c[key]).where(table.c[when] < before)
                                .order_by(table.c[when], table.c[key]).limit(limit)))
    if keys:
        session.execute(delete(table).where(any_of(table.c[key], keys, session=session)))
    return len(keys)


def count_older(table: Table, *, when: str, before: datetime, session: Session) -> int:
    """How many rows ``delete_older`` would remove in all (what a dry run reports)."""
    return int(session.scalar(select(func.count()).select_from(table).where(table.c[when] < before)) or 0)


@dataclass(frozen=True, slots=True)
class RewritePage:
    """What one page of ``rewrite_documents`` changed, and where the next page starts (``None``: the window
    is done)."""

    changed: int
    after: tuple[Any, ...] | None


def rewrite_documents(
    table: Table, *, when: str, keys: Sequence[str], document: str, transform: Callable[[Any], Any],
    since: datetime | None, before: datetime, after: tuple[Any, ...] | None, limit: int, write: bool,
    session: Session, guard: str | None = None,
) -> RewritePage:
    """Read up to ``limit`` rows with ``since <= when < before`` (no lower bound without ``since``) past the
    cursor ``after``, in ``(when, *keys)`` order, pass each ``document`` (the parsed JSON) to ``transform``
    and, with ``write``, store those it changes. ``guard`` names a column that changes with every other
    write of a row (a version): a row whose guard moved since it was read is left as it is and not
    counted. Returns the rows changed (or that would be, without ``write``) and the next cursor.
    Idempotent when ``transform`` is; never commits."""
    columns = [table.c[when], *(table.c[k] for k in keys)]
    extra = [table.c[guard]] if guard else []
    query = select(*columns, *extra, cast(table.c[document], Text)).where(table.c[when] < before)
    if since is not None:
        query = query.where(table.c[when] >= since)
    if after is not None:
        query = query.where(tuple_(*columns) > tuple_(*after))
    rows = session.execute(query.order_by(*columns).limit(limit)).all()
    changed = 0
    for row in rows:
        old = json.loads(row[-1])
        new = transform(old)
        if new == old:
            continue
        if write:
            where = [table.c[k] == row[1 + n] for n, k in enumerate(keys)]
            if guard:
                where.append(table.c[guard] == row[1 + len(keys)])
            if session.execute(update(table).where(and_(*where)).values({document: new})).rowcount == 0:  # type: ignore[attr-defined]
                continue
        changed += 1
    cursor = tuple(rows[-1][: 1 + len(keys)]) if len(rows) == limit else None
    return RewritePage(changed=changed, after=cursor)
