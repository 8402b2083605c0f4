"""The ClickHouse schema. ``ReplacingMergeTree`` keyed on the event (``ingest.contracts.event_key``) makes a
replayed insert a no-op for queries that use ``FINAL`` (or after merges), so at-least-once delivery does
not double-count.

``schema_marks`` names the one-time rewrites a store has had: ``event_keys_name_the_author`` re-keys rows
written when the key was ``<platform>:<event_id>`` (see ``_rekey_legacy_events``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from analytics.client import AnalyticsClient
from ingest.contracts import event_key

EVENTS_TABLE = "events"
MARKS_TABLE = "schema_marks"
_KEYS_NAME_THE_AUTHOR = "event_keys_name_the_author"
_LEGACY_KEY = "event_key = concat(platform, ':', event_id)"
_REKEY_PAGE = 10_000

EVENT_COLUMNS: tuple[str, ...] = (
    "event_key", "event_id", "customer_id", "platform", "kind", "brand", "occurred_at", "author_id",
    "author_followers", "text", "language", "sentiment_label", "sentiment_score", "sentiment_confidence",
    "topics", "intents", "spam", "likes", "shares", "replies", "model_name", "model_version", "ingested_at",
)
_KEY, _EVENT_ID, _PLATFORM, _AUTHOR_ID = (EVENT_COLUMNS.index(c) for c in ("event_key", "event_id", "platform", "author_id"))
_TIMES = tuple(EVENT_COLUMNS.index(c) for c in ("occurred_at", "ingested_at"))


def ensure_schema(client: AnalyticsClient) -> None:
    """Create the database and tables if missing, and re-key rows of older key formats (once per store).
    Idempotent; blocks."""
    db = client.database
    client.command(f"CREATE DATABASE IF NOT EXISTS {db}")
    client.command(
        f"""
        CREATE TABLE IF NOT EXISTS {db}.{EVENTS_TABLE} (
            event_key String,
            event_id String,
            customer_id String,
            platform LowCardinality(String),
            kind LowCardinality(String),
            brand LowCardinality(String),
            occurred_at DateTime64(3, 'UTC'),
            author_id String,
            author_followers UInt64,
            text String,
            language LowCardinality(String),
            sentiment_label LowCardinality(String),
            sentiment_score Float32,
            sentiment_confidence Float32,
            topics Array(LowCardinality(String)),
            intents Array(LowCardinality(String)),
            spam Float32,
            likes UInt64,
            shares UInt64,
            replies UInt64,
            model_name LowCardinality(String),
            model_version LowCardinality(String),
            ingested_at DateTime64(3, 'UTC')
        )
        ENGINE = ReplacingMergeTree(ingested_at)
        PARTITION BY toYYYYMM(occurred_at)
        ORDER BY (platform, event_key)
        """
    )
    client.command(
        f"CREATE TABLE IF NOT EXISTS {db}.{MARKS_TABLE} (mark String, at DateTime64(3, 'UTC')) "
        "ENGINE = ReplacingMergeTree ORDER BY mark"
    )
    _, marked = client.query(f"SELECT count() FROM {db}.{MARKS_TABLE} WHERE mark = {{mark:String}}",
                             parameters={"mark": _KEYS_NAME_THE_AUTHOR})
    if not marked[0][0]:
        _rekey_legacy_events(client)
        client.insert(MARKS_TABLE, [(_KEYS_NAME_THE_AUTHOR, datetime.now(UTC))], ("mark", "at"))


def _rekey_legacy_events(client: AnalyticsClient) -> None:
    """Copy every row keyed ``<platform>:<event_id>`` (as written before event keys named the author) under
    its event's key, then delete the old rows, so a replayed event collapses with its stored row instead of
    counting twice. A page at a time in sort-key order; rows already copied carry new keys, which never
    look like old ones (a new key holds the author), so an interrupted run is simply run again."""
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


def _rekeyed(row: tuple[Any, ...]) -> list[Any]:
    """An old row under its event's key (times as UTC: the driver reads them back naive)."""
    values = list(row)
    values[_KEY] = event_key(values[_PLATFORM], values[_AUTHOR_ID], values[_EVENT_ID])
    for index in _TIMES:
        values[index] = values[index].replace(tzinfo=UTC) if values[index].tzinfo is None else values[index]
    return values
