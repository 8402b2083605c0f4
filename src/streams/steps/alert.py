"""Alert step: run the detectors over enriched events, with the author's current profile for context."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from alerts.contracts import Alert, ScoredPost
from alerts.detectors import NegativePostConfig, detect_negative_post
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


def detect_alerts(
    events: Sequence[EnrichedEvent],
    profiles: Mapping[str, CustomerProfile],
    config: NegativePostConfig = NegativePostConfig(),
) -> list[Alert]:
    """Pure. Alerts raised by ``events``, in event order, one per alert id."""
    alerts: dict[str, Alert] = {}
    for enriched in events:
        alert = detect_negative_post(scored_post(enriched, profiles.get(enriched.customer_id)), config)
        if alert is not None:
            alerts.setdefault(alert.alert_id, alert)
    return list(alerts.values())
