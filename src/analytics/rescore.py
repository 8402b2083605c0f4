"""ClickHouse's side of re-scoring stored events with a new model (``streams.jobs.rescore``).

``replace_events`` writes the re-scored rows of events stored already: ``events`` is a
``ReplacingMergeTree(ingested_at)``, so the newer row wins under ``FINAL`` (the rows carry the new model's
name and version). The rollups' materialised views would count the new rows on top of the old ones, so
``rebuild_rollups`` then recomputes every rollup row of the re-scored time range from ``events FINAL``:
it deletes the range's rollup rows (a mutation, ``mutations_sync = 2``) and inserts them again with the
rollups' own ``SELECT`` (``analytics.schema.migrations.PLAIN_ROLLUPS``). Events that arrive in that range
while it runs could be counted twice or not at all: re-score past ranges (``--until`` before the live edge).

Blocks; both are idempotent.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from analytics.client import AnalyticsClient
from analytics.schema.migrations import PLAIN_ROLLUPS
from analytics.schema.tables import EVENT_COLUMNS, EVENTS_TABLE
from analytics.writer import EventRow, values


def replace_events(client: AnalyticsClient, rows: Sequence[EventRow]) -> int:
    """Insert ``rows`` whether or not their events are stored (their ``ingested_at`` must be newer than the
    stored rows'); returns how many. Blocks."""
    if rows:
        client.insert(EVENTS_TABLE, [values(row) for row in rows], EVENT_COLUMNS)
    return len(rows)


def rebuild_rollups(client: AnalyticsClient, *, since: datetime, until: datetime) -> int:
    """Recompute every rollup row of the hours from ``since``'s to ``until``'s (inclusive) from
    ``events FINAL``; returns how many rollup tables were rebuilt. Blocks."""
    start = since.replace(minute=0, second=0, microsecond=0)
    end = until.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    window = {"start": start.replace(tzinfo=None), "end": end.replace(tzinfo=None)}
    db = client.database
    source = (f"(SELECT * FROM {db}.{EVENTS_TABLE} FINAL WHERE occurred_at >= {{start:DateTime64(3, 'UTC')}} "
              "AND occurred_at < {end:DateTime64(3, 'UTC')})")
    for table, _, _, select in PLAIN_ROLLUPS:
        client.command(f"ALTER TABLE {db}.{table} DELETE WHERE bucket >= {{start:DateTime('UTC')}} "
                       "AND bucket < {end:DateTime('UTC')} SETTINGS mutations_sync = 2", window)
        client.command(f"INSERT INTO {db}.{table} " + select.format(source=source), window)
    return len(PLAIN_ROLLUPS)
