"""A customer's interactions from the event log, for the profile 360: the paged timeline (keyset, newest
first) and sentiment over event time.

Both read ``profile_events`` of every identity the customer has now, so a merged customer's timeline holds
both accounts' events and a split gives them back (the profile's own ``timeline`` is only the last few it
folded). Events are ordered by ``(occurred_at, event_key)``, unique per event, so a page after a cursor
never repeats or skips one, even when many share a timestamp or newer events arrive between two pages.
Repositories: every function blocks.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Text, and_, cast, or_, select
from sqlalchemy.orm import Session

from profile_store.contracts import TimelineItem
from profile_store.identity_repository import identities_of
from profile_store.tables import ProfileEventRow
from sqlkit import any_of, as_aware
from sqlkit.keyset import InvalidCursor as InvalidCursor  # raised by timeline_page
from sqlkit.keyset import decode_cursor, encode_cursor

PAGE_MAX = 200
"""Most items one page holds."""
TEXT_CHARS = 280
"""Text shown per item, as in the profile's own timeline."""
_LABELS = ("negative", "neutral", "positive")


class TimelinePage(BaseModel):
    """Up to ``limit`` items, newest first; ``next`` is the cursor of the page after (older), ``None`` when
    this page holds the oldest event."""

    model_config = ConfigDict(frozen=True)

    items: tuple[TimelineItem, ...]
    next: str | None


class SentimentDay(BaseModel):
    """One UTC day (event time) of a customer's events with text: counts by label and the mean score."""

    model_config = ConfigDict(frozen=True)

    day: date
    positive: int
    neutral: int
    negative: int
    mean_score: float


def timeline_page(customer_id: str, *, before: str | None = None, limit: int = 50,
                  session: Session) -> TimelinePage:
    """The customer's events older than the cursor ``before`` (the newest when ``None``), at most ``limit``
    (1 to ``PAGE_MAX``). An unknown customer has an empty timeline. Raises ``InvalidCursor``."""
    if not 1 <= limit <= PAGE_MAX:
        raise ValueError(f"limit must be between 1 and {PAGE_MAX}")
    keys = identities_of([customer_id], session=session)[customer_id]
    if not keys:
        return TimelinePage(items=(), next=None)
    query = select(ProfileEventRow.occurred_at, ProfileEventRow.event_key, cast(ProfileEventRow.data, Text)).where(
        any_of(ProfileEventRow.identity_key, keys, session=session))
    if before is not None:
        at, key = decode_cursor(before)
        query = query.where(or_(ProfileEventRow.occurred_at < at,
                                and_(ProfileEventRow.occurred_at == at, ProfileEventRow.event_key < key)))
    rows = session.execute(query.order_by(ProfileEventRow.occurred_at.desc(), ProfileEventRow.event_key.desc())
                           .limit(limit + 1)).all()
    items = tuple(_item(json.loads(data)) for _, _, data in rows[:limit])
    last = rows[limit - 1] if len(rows) > limit else None
    return TimelinePage(items=items, next=encode_cursor(as_aware(last[0]), last[1]) if last is not None else None)


def sentiment_by_day(customer_id: str, *, session: Session) -> list[SentimentDay]:
    """Per UTC day with any, oldest first: the customer's events with text by sentiment label and their
    mean score (engagement without text carries no opinion and is left out)."""
    keys = identities_of([customer_id], session=session)[customer_id]
    if not keys:
        return []
    days: dict[date, list[float]] = {}
    counts: dict[date, dict[str, int]] = {}
    for at, data in session.execute(select(ProfileEventRow.occurred_at, cast(ProfileEventRow.data, Text))
                                    .where(any_of(ProfileEventRow.identity_key, keys, session=session))):
        stored = json.loads(data)
        if not (stored.get("event", {}).get("text") or "").strip():
            continue
        sentiment = stored.get("enrichment", {}).get("sentiment", {})
        label = sentiment.get("label")
        if label not in _LABELS:
            continue
        day = as_aware(at).date()
        days.setdefault(day, []).append(float(sentiment.get("score", 0.0)))
        by_label = counts.setdefault(day, dict.fromkeys(_LABELS, 0))
        by_label[label] += 1
    return [SentimentDay(day=day, mean_score=round(sum(scores) / len(scores), 4), **counts[day])
            for day, scores in sorted(days.items())]


def _item(data: dict[str, Any]) -> TimelineItem:
    """The timeline form of a stored enriched event (as ``streams.steps.profile`` folds it)."""
    event, enrichment = data["event"], data.get("enrichment", {})
    text = (event.get("text") or "")[:TEXT_CHARS] or None
    return TimelineItem(event_id=event["event_id"], occurred_at=event["occurred_at"], platform=event["platform"],
                        kind=event["kind"], text=text, url=event.get("url"),
                        sentiment=enrichment.get("sentiment", {}).get("label") if text else None)
