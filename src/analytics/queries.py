"""Read-only query helpers over raw events for the API and console (the rollups: ``analytics.rollups``).
Parameters are bound, never interpolated. (Analysts' own SQL goes through the analyst door:
``analytics.door`` and ``analytics.analyst``.)"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from analytics.client import AnalyticsClient
from analytics.schema import EVENTS_TABLE


def breakdown(client: AnalyticsClient, *, by: str, since: datetime) -> list[dict[str, Any]]:
    """Event counts (every event) and the mean sentiment and negatives (of events with text: ``avg`` skips
    the NULL sentiment of engagement) grouped by ``platform``, ``brand``, ``kind`` or ``language``."""
    if by not in {"platform", "brand", "kind", "language"}:
        raise ValueError(f"cannot break down by {by!r}")
    sql = (
        f"SELECT {by} AS key, count() AS n, avg(sentiment_score) AS mean_sentiment, "
        "countIf(sentiment_label = 'negative') AS negative "
        f"FROM {client.database}.{EVENTS_TABLE} FINAL WHERE occurred_at >= {{since:DateTime64(3)}} "
        "GROUP BY key ORDER BY n DESC"
    )
    _, rows = client.query(sql, {"since": since})
    return [
        {"key": key, "count": n, "mean_sentiment": None if mean is None else round(float(mean), 4),
         "negative": neg}
        for key, n, mean, neg in rows
    ]


def count_events(client: AnalyticsClient) -> int:
    """Distinct events stored."""
    _, rows = client.query(f"SELECT count() FROM {client.database}.{EVENTS_TABLE} FINAL")
    return int(rows[0][0])


def latest_event_time(client: AnalyticsClient) -> datetime | None:
    """The newest ``occurred_at`` stored (time windows are anchored on event time), or ``None`` if empty."""
    _, rows = client.query(f"SELECT max(occurred_at), count() FROM {client.database}.{EVENTS_TABLE}")
    latest, count = rows[0]
    return latest if count else None
