"""Analytics step: enriched events to ClickHouse rows."""

from __future__ import annotations

from datetime import datetime

from analytics.writer import EventRow
from streams.contracts import EnrichedEvent


def event_row(enriched: EnrichedEvent, *, ingested_at: datetime) -> EventRow:
    """Pure. One row of the ``events`` table."""
    event, enrichment = enriched.event, enriched.enrichment
    return EventRow(
        event_key=event.event_key,
        event_id=event.event_id,
        customer_id=enriched.customer_id,
        platform=event.platform.value,
        kind=event.kind.value,
        brand=event.brand or "",
        occurred_at=event.occurred_at_utc,
        author_id=event.author.id,
        author_followers=event.author.followers or 0,
        text=event.text or "",
        language=enrichment.language,
        sentiment_label=enrichment.sentiment.label,
        sentiment_score=enrichment.sentiment.score,
        sentiment_confidence=enrichment.sentiment.confidence,
        topics=list(enrichment.topics),
        intents=list(enrichment.intents),
        spam=enrichment.spam,
        likes=event.metrics.likes,
        shares=event.metrics.shares,
        replies=event.metrics.replies,
        model_name=enrichment.model.name,
        model_version=enrichment.model.version,
        ingested_at=ingested_at,
    )
