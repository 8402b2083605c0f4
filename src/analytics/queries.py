"""Read-only query helpers for the API and console. Parameters are bound, never interpolated. (Analysts' own
SQL goes through the analyst door: ``analytics.door`` and ``analytics.analyst``.)"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from analytics.client import AnalyticsClient
from analytics.schema import EVENTS_TABLE


def sentiment_over_time(
    client: AnalyticsClient, *, since: datetime, bucket_minutes: int = 60, brand: str | None = None
) -> list[dict[str, Any]]:
    """Counts by sentiment label per time bucket (event time) since ``since``."""
    sql = (
        f"SELECT toStartOfInterval(occurred_at, toIntervalMinute({{bucket:UInt32}})) AS bucket, "
        f"sentiment_label, count() AS n FROM {client.database}.{EVENTS_TABLE} FINAL "
        "WHERE occurred_at >= {since:DateTime64(3)} AND ({brand:String} = '' OR brand = {brand:String}) "
        "GROUP BY bucket, sentiment_label ORDER BY bucket"
    )
    _, rows = client.query(sql, {"bucket": bucket_minutes, "since": since, "brand": brand or ""})
    return [{"bucket": bucket, "sentiment": label, "count": n} for bucket, label, n in rows]


def breakdown(client: AnalyticsClient, *, by: str, since: datetime) -> list[dict[str, Any]]:
    """Event counts and mean sentiment grouped by ``platform``, ``brand``, ``kind`` or ``language``."""
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
        {"key": key, "count": n, "mean_sentiment": round(float(mean), 4), "negative": neg}
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
