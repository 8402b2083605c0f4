"""Retention of the ``events`` table: blank the text of events ingested before a time, delete events
ingested before another (``ingested_at`` is the wall clock of the write; ``occurred_at`` is not used, so a
replayed old event counts from when it was first written). The rollups (materialised views over inserts)
and ``profiles`` keep their counts: a mutation of ``events`` does not reach them.

Each change is a mutation (``ALTER TABLE ... UPDATE | DELETE``) that rewrites the parts holding matching
rows, run with ``mutations_sync = 2``: the call returns once every replica has applied it. Blocks (a large
table takes seconds to minutes); idempotent (a second run matches nothing); raises the driver's errors.
"""

from __future__ import annotations

from datetime import UTC, datetime

from analytics.client import AnalyticsClient
from analytics.schema.tables import EVENTS_TABLE

_SYNC = "SETTINGS mutations_sync = 2"


def blank_event_texts(client: AnalyticsClient, *, before: datetime, since: datetime | None = None,
                      write: bool = True) -> int:
    """Set ``text`` to ``''`` on the events ingested before ``before`` (and not before ``since``, when given)
    that still have text; returns how many rows matched (without ``write`` only counts)."""
    where = f"ingested_at < {_at(before)} AND text != ''" + ("" if since is None else f" AND ingested_at >= {_at(since)}")
    found = _count(client, where)
    if write and found:
        client.command(f"ALTER TABLE {client.database}.{EVENTS_TABLE} UPDATE text = '' WHERE {where} {_SYNC}")
    return found


def delete_events(client: AnalyticsClient, *, before: datetime, write: bool = True) -> int:
    """Delete the events ingested before ``before``; returns how many rows matched (without ``write`` only
    counts)."""
    where = f"ingested_at < {_at(before)}"
    found = _count(client, where)
    if write and found:
        client.command(f"ALTER TABLE {client.database}.{EVENTS_TABLE} DELETE WHERE {where} {_SYNC}")
    return found


def _count(client: AnalyticsClient, where: str) -> int:
    _, rows = client.query(f"SELECT count() FROM {client.database}.{EVENTS_TABLE} WHERE {where}")
    return int(rows[0][0])


def _at(moment: datetime) -> str:
    """A ``DateTime64(3, 'UTC')`` literal of an aware datetime (formatted here, never from input text)."""
    return f"toDateTime64('{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S.%f}', 6, 'UTC')"
