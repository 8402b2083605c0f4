"""Batched writer of event rows into ClickHouse."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import astuple, dataclass
from datetime import datetime

from analytics.client import AnalyticsClient
from analytics.schema import EVENT_COLUMNS, EVENTS_TABLE


@dataclass(frozen=True, slots=True)
class EventRow:
    """One enriched event, flattened to the ``events`` table's columns (same order)."""

    event_key: str
    event_id: str
    customer_id: str
    platform: str
    kind: str
    brand: str
    occurred_at: datetime
    author_id: str
    author_followers: int
    text: str
    language: str
    sentiment_label: str
    sentiment_score: float
    sentiment_confidence: float
    topics: list[str]
    intents: list[str]
    spam: float
    likes: int
    shares: int
    replies: int
    model_name: str
    model_version: str
    ingested_at: datetime


def write_events(client: AnalyticsClient, rows: Sequence[EventRow]) -> int:
    """Insert ``rows`` in one batch; returns how many. Blocks. Re-inserting a row is harmless (see schema)."""
    if rows:
        client.insert(EVENTS_TABLE, [astuple(row) for row in rows], EVENT_COLUMNS)
    return len(rows)
