"""Read-only query helpers for the API and console: counts and the newest event time over raw events, the
breakdown from its rollup (the other rollups: ``analytics.rollups``).
Parameters are bound, never interpolated. (Analysts' own SQL goes through the analyst door:
``analytics.door`` and ``analytics.analyst``.)"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from analytics.client import AnalyticsClient
from analytics.schema import EVENTS_HOUR, EVENTS_TABLE


def breakdown(client: AnalyticsClient, *, by: str, since: datetime) -> list[dict[str, Any]]:
    """Event counts (every event) and the mean sentiment and negatives (of events with text: engagement has
    no opinion) grouped by ``platform``, ``brand``, ``kind`` or ``language``, over the hours starting at or
    after ``since``; from the ``events_hour`` rollup (a scan of raw events grows with the table)."""
    if by not in {"platform", "brand", "kind", "language"}:
        raise ValueError(f"cannot break down by {by!r}")
    sql = (
        f"SELECT {by} AS key, sum(events) AS n, sum(voiced) AS voiced, sum(score_sum) AS score, "
        f"sum(negative) AS neg FROM {client.database}.{EVENTS_HOUR} "
        "WHERE bucket >= {since:DateTime64(3)} GROUP BY key ORDER BY n DESC, key"
    )
    _, rows = client.query(sql, {"since": since})
    return [
        {"key": key, "count": n, "mean_sentiment": round(float(score) / voiced, 4) if voiced else None,
         "negative": neg}
        for key, n, voiced, score, neg in rows
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
