"""Migration 2: rows written while the event key was ``<platform>:<event_id>`` get their event's key
(``ingest.contracts.event_key``: platform, author and event id), so a replayed event collapses with its
stored row instead of counting twice."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from analytics.client import AnalyticsClient
from analytics.schema.tables import EVENT_COLUMNS, EVENTS_TABLE
from ingest.contracts import event_key

_LEGACY_KEY = "event_key = concat(platform, ':', event_id)"
_REKEY_PAGE = 10_000
_KEY, _EVENT_ID, _PLATFORM, _AUTHOR_ID = (EVENT_COLUMNS.index(c) for c in ("event_key", "event_id", "platform", "author_id"))
_TIMES = tuple(EVENT_COLUMNS.index(c) for c in ("occurred_at", "ingested_at"))


def rekey_legacy_events(client: AnalyticsClient) -> None:
    """Copy every row keyed ``<platform>:<event_id>`` under its event's key, then delete the old rows. A
    page at a time in sort-key order; rows already copied carry new keys, which never look like old ones
    (a new key holds the author), so an interrupted run is simply run again. Blocks. (The table
    ``schema_marks`` recorded this rewrite before migrations did: it is dropped.)"""
    db = client.database
    last: tuple[str, str] = ("", "")
    while True:
        _, rows = client.query(
            f"SELECT {', '.join(EVENT_COLUMNS)} FROM {db}.{EVENTS_TABLE} WHERE {_LEGACY_KEY} "
            "AND (platform, event_key) > ({platform:String}, {key:String}) "
            f"ORDER BY platform, event_key LIMIT {_REKEY_PAGE}",
            parameters={"platform": last[0], "key": last[1]},
        )
        if not rows:
            break
        client.insert(EVENTS_TABLE, [_rekeyed(row) for row in rows], EVENT_COLUMNS)
        last = (rows[-1][_PLATFORM], rows[-1][_KEY])
    client.command(f"DELETE FROM {db}.{EVENTS_TABLE} WHERE {_LEGACY_KEY}")
    client.command(f"DROP TABLE IF EXISTS {db}.schema_marks")


def _rekeyed(row: tuple[Any, ...]) -> list[Any]:
    """An old row under its event's key (times as UTC: the driver reads them back naive)."""
    values = list(row)
    values[_KEY] = event_key(values[_PLATFORM], values[_AUTHOR_ID], values[_EVENT_ID])
    for index in _TIMES:
        values[index] = values[index].replace(tzinfo=UTC) if values[index].tzinfo is None else values[index]
    return values
