"""Profile step: a customer's profile as a deterministic fold over its events in event-time order.

``build_profile`` recomputes from a set of events (used after a merge, a split, or an out-of-order
event); ``fold_event`` extends a profile with an event that sorts after everything already folded. Both
give the same result for the same events, so an unmerge restores profiles exactly. Idempotency by event
(``SocialEvent.event_key``) is the caller's ledger. Everything time-dependent uses ``occurred_at``, never
the wall clock.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime

from profile_store.contracts import (
    CustomerProfile,
    InfluenceBreakdown,
    SentimentSummary,
    TimelineItem,
)
from profile_store.lifecycle import lifecycle_stage
from streams.contracts import EnrichedEvent

SENTIMENT_ALPHA = 0.3
TOPIC_HALF_LIFE_DAYS = 30.0
TIMELINE_LENGTH = 20
TIMELINE_TEXT_CHARS = 280
INFLUENCE_WEIGHTS = {"reach": 0.35, "engagement": 0.25, "amplification": 0.2, "centrality": 0.2}


def sort_key(enriched: EnrichedEvent) -> tuple[datetime, str, str]:
    """The order events are folded in: event time, then platform and event id, then event key (a total,
    replay-stable order; for events stored before event keys named the author, the order they were
    folded in then)."""
    event = enriched.event
    return event.occurred_at_utc, event.post_key, event.event_key


def build_profile(
    customer_id: str, identities: Iterable[str], events: Iterable[EnrichedEvent], *, centrality: float = 0.0
) -> CustomerProfile | None:
    """Pure. The profile of ``customer_id`` over exactly ``events`` (any order; folded sorted), or
    ``None`` when there are none."""
    profile: CustomerProfile | None = None
    for enriched in sorted(events, key=sort_key):
        profile = fold_event(profile, enriched, customer_id=customer_id, centrality=centrality)
    if profile is None:
        return None
    return with_identities(profile, identities)


def with_identities(profile: CustomerProfile, identities: Iterable[str]) -> CustomerProfile:
    """Pure. ``profile`` also listing ``identities`` (a key that never acted changes nothing else)."""
    return profile.model_copy(update={"identities": tuple(sorted({*profile.identities, *identities}))})


def fold_event(
    profile: CustomerProfile | None,
    enriched: EnrichedEvent,
    *,
    customer_id: str | None = None,
    centrality: float | None = None,
) -> CustomerProfile:
    """Pure. ``profile`` extended by ``enriched``, which must sort after every event already folded
    (else use ``build_profile``). ``None`` starts a new profile for ``customer_id`` (default: the
    event's routed customer). ``centrality`` (0-100 percentile) replaces the stored one when given."""
    event, enrichment = enriched.event, enriched.enrichment
    at = event.occurred_at_utc
    if profile is None:
        profile = CustomerProfile(customer_id=customer_id or enriched.customer_id, first_seen=at, last_seen=at)
    kind = event.kind.value
    has_text = bool(event.text and event.text.strip())
    intents = profile.intents
    for intent in enrichment.intents:
        intents = _bump(intents, intent)
    new_day = profile.event_count == 0 or at.date() != profile.last_seen.date()
    engagement = profile.engagement_received
    if event.brand and kind in {"post", "mention", "review", "comment", "reply"}:
        engagement += event.metrics.likes + event.metrics.shares + event.metrics.replies
    updated = profile.model_copy(
        update={
            "identities": tuple(sorted({*profile.identities, event.identity_key})),
            "display_name": event.author.display_name or event.author.handle or profile.display_name,
            "first_seen": min(profile.first_seen, at),
            "last_seen": max(profile.last_seen, at),
            "event_count": profile.event_count + 1,
            "active_days": profile.active_days + (1 if new_day else 0),
            "counts_by_kind": _bump(profile.counts_by_kind, kind),
            "counts_by_platform": _bump(profile.counts_by_platform, event.platform.value),
            "brands": _bump(profile.brands, event.brand) if event.brand else profile.brands,
            "sentiment": _fold_sentiment(profile.sentiment, enriched) if has_text else profile.sentiment,
            "topics": _fold_topics(profile.topics, profile.last_seen, at, enrichment.topics),
            "intents": intents,
            "followers": max(profile.followers, event.author.followers or 0),
            "verified": profile.verified or event.author.verified,
            "crm_id": event.identity_hints.crm_id or profile.crm_id,
            "engagement_received": engagement,
            "brand_shares": profile.brand_shares + (1 if kind == "share" and event.brand else 0),
            "timeline": _fold_timeline(profile.timeline, enriched),
        }
    )
    breakdown = influence(updated, profile.influence_components.centrality if centrality is None else centrality)
    return updated.model_copy(
        update={
            "lifecycle": lifecycle_stage(updated),
            "churn_risk": churn_risk(updated),
            "influence": breakdown.score,
            "influence_components": breakdown,
        }
    )


def with_centrality(profile: CustomerProfile, centrality: float) -> CustomerProfile:
    """Pure. ``profile`` with a new network-centrality percentile and the influence it implies."""
    breakdown = influence(profile, centrality)
    return profile.model_copy(update={"influence": breakdown.score, "influence_components": breakdown})


def churn_risk(profile: CustomerProfile) -> float:
    """0-1 from a negative sentiment trend and churn threats. Silence after activity depends on "now",
    so it is judged at query time against the newest event time (see the at-risk segment)."""
    s = profile.sentiment
    texts = s.positive + s.neutral + s.negative
    negative_share = s.negative / texts if texts else 0.0
    risk = 0.5 * max(0.0, -s.ewma) + 0.3 * negative_share + (0.3 if profile.intents.get("churn_threat") else 0.0)
    return round(min(1.0, risk), 4)


def influence(profile: CustomerProfile, centrality: float) -> InfluenceBreakdown:
    """Influence 0-100: weighted reach (log followers; 10M ~ 100), engagement received on brand-related
    posts (log; 100k ~ 100), amplification (shares of brand content; log; 1k ~ 100) and network
    centrality (PageRank percentile). Verified accounts get +10 reach."""
    reach = min(100.0, 100.0 * math.log10(1 + profile.followers) / 7.0 + (10.0 if profile.verified else 0.0))
    engagement = min(100.0, 100.0 * math.log10(1 + profile.engagement_received) / 5.0)
    amplification = min(100.0, 100.0 * math.log10(1 + profile.brand_shares) / 3.0)
    centrality = max(0.0, min(100.0, centrality))
    parts = {"reach": reach, "engagement": engagement, "amplification": amplification, "centrality": centrality}
    score = sum(INFLUENCE_WEIGHTS[name] * value for name, value in parts.items())
    return InfluenceBreakdown(**{k: round(v, 2) for k, v in parts.items()}, score=round(min(100.0, score), 2))


def _bump(counts: dict[str, int], key: str) -> dict[str, int]:
    return {**counts, key: counts.get(key, 0) + 1}


def _fold_sentiment(summary: SentimentSummary, enriched: EnrichedEvent) -> SentimentSummary:
    sentiment = enriched.enrichment.sentiment
    total = summary.positive + summary.neutral + summary.negative
    ewma = sentiment.score if total == 0 else (1 - SENTIMENT_ALPHA) * summary.ewma + SENTIMENT_ALPHA * sentiment.score
    counts = summary.model_dump(exclude={"ewma"})
    counts[sentiment.label] += 1
    return SentimentSummary(ewma=round(max(-1.0, min(1.0, ewma)), 6), **counts)


def _fold_topics(topics: dict[str, float], last_seen: datetime, at: datetime, new: tuple[str, ...]) -> dict[str, float]:
    """Decayed topic affinity: weight halves every ``TOPIC_HALF_LIFE_DAYS`` of event time."""
    days = max(0.0, (at - last_seen).total_seconds() / 86400.0)
    factor = 0.5 ** (days / TOPIC_HALF_LIFE_DAYS)
    decayed = {topic: weight * factor for topic, weight in topics.items()}
    for topic in new:
        decayed[topic] = decayed.get(topic, 0.0) + 1.0
    return {topic: round(weight, 6) for topic, weight in decayed.items() if weight >= 1e-4}


def _fold_timeline(timeline: tuple[TimelineItem, ...], enriched: EnrichedEvent) -> tuple[TimelineItem, ...]:
    event = enriched.event
    item = TimelineItem(
        event_id=event.event_id,
        occurred_at=event.occurred_at_utc,
        platform=event.platform.value,
        kind=event.kind.value,
        text=(event.text or "")[:TIMELINE_TEXT_CHARS] or None,
        sentiment=enriched.enrichment.sentiment.label if event.text else None,
        url=event.url,
    )
    return (item, *timeline)[:TIMELINE_LENGTH]
