"""The ClickHouse schema. ``ReplacingMergeTree`` keyed on the event makes a replayed insert a no-op for
queries that use ``FINAL`` (or after merges), so at-least-once delivery does not double-count."""

from __future__ import annotations

from analytics.client import AnalyticsClient

EVENTS_TABLE = "events"

EVENT_COLUMNS: tuple[str, ...] = (
    "event_key", "event_id", "customer_id", "platform", "kind", "brand", "occurred_at", "author_id",
    "author_followers", "text", "language", "sentiment_label", "sentiment_score", "sentiment_confidence",
    "topics", "intents", "spam", "likes", "shares", "replies", "model_name", "model_version", "ingested_at",
)


def ensure_schema(client: AnalyticsClient) -> None:
    """Create the database and tables if missing. Idempotent; blocks."""
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
