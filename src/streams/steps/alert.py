"""Alert step: the detectors' view of enriched events (``ScoredPost``), and running the detector suite
purely over a batch with explicit state (``alerts.suite``). The durable part — loading and saving state,
incidents and the delivery outbox inside the batch's transaction — is ``alerts.pipeline.process_posts``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from alerts.config import AlertingConfig
from alerts.contracts import Alert, ScoredPost
from alerts.state import DetectorState
from alerts.suite import run_detectors
from profile_store.contracts import CustomerProfile
from streams.contracts import EnrichedEvent

DEFAULT_CONFIG = AlertingConfig()


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


def detect_alerts(
    events: Sequence[EnrichedEvent],
    profiles: Mapping[str, CustomerProfile],
    config: AlertingConfig = DEFAULT_CONFIG,
    state: DetectorState | None = None,
) -> list[Alert]:
    """Pure. Alerts ``events`` raise from ``state`` (empty by default), one per alert id. Use
    ``detect_with_state`` to keep the state."""
    return detect_with_state(events, profiles, state or DetectorState(), config)[0]


def detect_with_state(
    events: Sequence[EnrichedEvent],
    profiles: Mapping[str, CustomerProfile],
    state: DetectorState,
    config: AlertingConfig = DEFAULT_CONFIG,
) -> tuple[list[Alert], DetectorState]:
    """Pure. Alerts and the detector state after ``events`` (pass only events never seen before)."""
    return run_detectors(scored_posts(events, profiles), state, config)
