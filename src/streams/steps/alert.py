"""Alert step: the detectors' view of enriched events (``ScoredPost``). The detectors themselves run in
``alerts.suite.run_detectors`` (pure, explicit state); loading and saving state, incidents and the delivery
outbox inside the batch's transaction is ``alerts.pipeline.process_posts``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from alerts.contracts import ScoredPost
from profile_store.contracts import CustomerProfile
from streams.contracts import EnrichedEvent


def scored_post(enriched: EnrichedEvent, profile: CustomerProfile | None) -> ScoredPost:
    """The detectors' view of an enriched event."""
    enrichment = enriched.enrichment
    return ScoredPost(
        customer_id=enriched.customer_id,
        event=enriched.event,
        sentiment_label=enrichment.sentiment.label,
        sentiment_score=enrichment.sentiment.score,
        sentiment_confidence=enrichment.sentiment.confidence,
        topics=enrichment.topics,
        intents=enrichment.intents,
        language=enrichment.language,
        author_influence=profile.influence if profile else 0.0,
        author_lifecycle=profile.lifecycle if profile else "prospect",
    )


def scored_posts(events: Sequence[EnrichedEvent], profiles: Mapping[str, CustomerProfile]) -> list[ScoredPost]:
    """``scored_post`` for each event, with its customer's current profile."""
    return [scored_post(e, profiles.get(e.customer_id)) for e in events]
