"""Alert step: the detectors' view of enriched events (``ScoredPost``). The detectors themselves run in
``alerts.suite.run_detectors`` (pure, explicit state); loading and saving state, incidents and the delivery
outbox inside the batch's transaction is ``alerts.pipeline.process_posts``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from alerts.contracts import ScoredPost
from profile_store.contracts import AuthorStanding
from streams.contracts import EnrichedEvent

UNKNOWN_AUTHOR = AuthorStanding()


def scored_post(enriched: EnrichedEvent, standing: AuthorStanding) -> ScoredPost:
    """The detectors' view of an enriched event by an author of this standing."""
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
        author_influence=standing.influence,
        author_lifecycle=standing.lifecycle,
    )


def scored_posts(events: Sequence[EnrichedEvent], standings: Mapping[str, AuthorStanding]) -> list[ScoredPost]:
    """``scored_post`` for each event, with its customer's standing (an unknown author's: no influence,
    prospect)."""
    return [scored_post(e, standings.get(e.customer_id, UNKNOWN_AUTHOR)) for e in events]
