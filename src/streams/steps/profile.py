"""Profile step: fold one enriched event into its customer's profile. Pure and event-time based.

Idempotency by ``event_id`` is the caller's ledger (``profile_store.repository.unseen_event_keys``): this
function folds whatever it is given. Everything time-dependent (EWMA order, topic decay, active days)
uses ``occurred_at``, never the wall clock, so replaying a file rebuilds the same profiles.
"""

from __future__ import annotations

import math
from datetime import datetime

from profile_store.contracts import CustomerProfile, Lifecycle, SentimentSummary, TimelineItem
from streams.contracts import EnrichedEvent

SENTIMENT_ALPHA = 0.3
TOPIC_HALF_LIFE_DAYS = 30.0
TIMELINE_LENGTH = 20
TIMELINE_TEXT_CHARS = 280


def event_key(enriched: EnrichedEvent) -> str:
    """The idempotency key of an event: ``<platform>:<event_id>`` (event ids are unique per platform)."""
    return f"{enriched.event.platform.value}:{enriched.event.event_id}"


def fold_event(profile: CustomerProfile | None, enriched: EnrichedEvent) -> CustomerProfile:
    """The profile after ``enriched``; ``None`` starts a new one."""
    event, enrichment = enriched.event, enriched.enrichment
    at = event.occurred_at_utc
    if profile is None:
        profile = CustomerProfile(customer_id=enriched.customer_id, first_seen=at, last_seen=at)
    platform, kind = event.platform.value, event.kind.value
    has_text = bool(event.text and event.text.strip())
    counts_by_kind = _bump(profile.counts_by_kind, kind)
    sentiment = _fold_sentiment(profile.sentiment, enriched) if has_text else profile.sentiment
    intents = profile.intents
    for intent in enrichment.intents:
        intents = _bump(intents, intent)
    new_day = at.date() != profile.last_seen.date() or profile.event_count == 0
    hints = event.identity_hints
    updated = profile.model_copy(
        update={
            "identities": _with(profile.identities, event.identity_key),
            "display_name": event.author.display_name or event.author.handle or profile.display_name,
            "first_seen": min(profile.first_seen, at),
            "last_seen": max(profile.last_seen, at),
            "event_count": profile.event_count + 1,
            "active_days": profile.active_days + (1 if new_day and at >= profile.last_seen else 0),
            "counts_by_kind": counts_by_kind,
            "counts_by_platform": _bump(profile.counts_by_platform, platform),
            "brands": _bump(profile.brands, event.brand) if event.brand else profile.brands,
            "sentiment": sentiment,
            "topics": _fold_topics(profile.topics, profile.last_seen, at, enrichment.topics),
            "intents": intents,
            "followers": max(profile.followers, event.author.followers or 0),
            "verified": profile.verified or event.author.verified,
            "crm_id": hints.crm_id or profile.crm_id,
            "timeline": _fold_timeline(profile.timeline, enriched),
        }
    )
    return updated.model_copy(
        update={"lifecycle": lifecycle_stage(updated), "influence": reach_influence(updated)}
    )


def lifecycle_stage(profile: CustomerProfile) -> Lifecycle:
    """The stage behaviour supports, strongest first: detractor (repeated negativity), advocate (shares and
    recommends the brand), fan (frequent positive participation), member (recurring), customer (known
    to the CRM or bought), else prospect."""
    s, kinds, intents = profile.sentiment, profile.counts_by_kind, profile.intents
    if s.negative >= 2 and s.ewma <= -0.3:
        return "detractor"
    if kinds.get("share", 0) >= 2 and s.positive >= 2 and s.ewma > 0:
        return "advocate"
    if s.positive >= 3 and s.ewma >= 0.2 and profile.event_count >= 5:
        return "fan"
    if profile.active_days >= 3:
        return "member"
    if profile.crm_id or intents.get("purchase_intent", 0) and kinds.get("review", 0):
        return "customer"
    return "prospect"


def reach_influence(profile: CustomerProfile) -> float:
    """Influence 0-100 from reach: log-scaled followers (10M followers ~ 100), +10 when verified."""
    reach = 100.0 * math.log10(1 + profile.followers) / 7.0
    return round(min(100.0, reach + (10.0 if profile.verified else 0.0)), 2)


def _bump(counts: dict[str, int], key: str) -> dict[str, int]:
    return {**counts, key: counts.get(key, 0) + 1}


def _with(items: tuple[str, ...], item: str) -> tuple[str, ...]:
    return items if item in items else (*items, item)


def _fold_sentiment(summary: SentimentSummary, enriched: EnrichedEvent) -> SentimentSummary:
    sentiment = enriched.enrichment.sentiment
    total = summary.positive + summary.neutral + summary.negative
    ewma = sentiment.score if total == 0 else (1 - SENTIMENT_ALPHA) * summary.ewma + SENTIMENT_ALPHA * sentiment.score
    counts = summary.model_dump(exclude={"ewma"})
    counts[sentiment.label] += 1
    return SentimentSummary(ewma=round(max(-1.0, min(1.0, ewma)), 6), **counts)


def _fold_topics(topics: dict[str, float], last_seen: datetime, at: datetime, new: tuple[str, ...]) -> dict[str, float]:
    """Decayed topic affinity: older weight halves every ``TOPIC_HALF_LIFE_DAYS`` of event time; an
    out-of-order (older) event adds a correspondingly decayed weight instead."""
    days = (at - last_seen).total_seconds() / 86400.0
    existing_factor = 0.5 ** (days / TOPIC_HALF_LIFE_DAYS) if days > 0 else 1.0
    new_weight = 1.0 if days >= 0 else 0.5 ** (-days / TOPIC_HALF_LIFE_DAYS)
    decayed = {topic: weight * existing_factor for topic, weight in topics.items()}
    for topic in new:
        decayed[topic] = decayed.get(topic, 0.0) + new_weight
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
    ordered = sorted((*timeline, item), key=lambda i: i.occurred_at, reverse=True)
    return tuple(ordered[:TIMELINE_LENGTH])
