"""Analytics step: enriched events, profiles and identity changes to ClickHouse rows. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from analytics.writer import EventRow, ProfileRow
from profile_store.contracts import CustomerProfile
from profile_store.identity_keys import is_platform_key
from streams.contracts import EnrichedEvent


def event_row(enriched: EnrichedEvent, *, ingested_at: datetime) -> EventRow:
    """One row of the ``events`` table; no sentiment where the event has no text (engagement states no
    opinion: it is not "neutral")."""
    event, enrichment = enriched.event, enriched.enrichment
    voiced = bool((event.text or "").strip())
    sentiment = enrichment.sentiment
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
        sentiment_label=sentiment.label if voiced else None,
        sentiment_score=sentiment.score if voiced else None,
        sentiment_confidence=sentiment.confidence if voiced else None,
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


def profile_row(profile: CustomerProfile, *, version: int) -> ProfileRow:
    """One row of the ``profiles`` table."""
    sentiment = profile.sentiment
    return ProfileRow(
        customer_id=profile.customer_id, version=version, is_deleted=0, display_name=profile.display_name,
        identities=list(profile.identities), first_seen=profile.first_seen, last_seen=profile.last_seen,
        event_count=profile.event_count, lifecycle=profile.lifecycle, followers=profile.followers,
        verified=profile.verified, influence=profile.influence, churn_risk=profile.churn_risk,
        sentiment_ewma=sentiment.ewma, positive=sentiment.positive, neutral=sentiment.neutral,
        negative=sentiment.negative, brands=dict(profile.brands), topics=dict(profile.topics), crm_id=profile.crm_id,
    )


def event_identities(assignments: Mapping[str, str]) -> dict[str, str]:
    """The assignments ``identity_customers`` needs: platform accounts only (events name their author's
    account; linking keys such as e-mails never author an event)."""
    return {key: cid for key, cid in assignments.items() if is_platform_key(key)}
