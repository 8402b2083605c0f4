"""Detectors: pure functions from a ``ScoredPost`` to zero or more ``Alert``s, each carrying its evidence."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict

from alerts.contracts import Alert, ScoredPost

ALERT_NAMESPACE = uuid.UUID("0b6f3c1a-7d4e-4f2a-8c5b-9e1d2a3b4c5d")
_TEXT_KINDS = frozenset({"post", "mention", "comment", "reply", "review", "chat_message"})


class NegativePostConfig(BaseModel):
    """When a single negative post is worth an alert."""

    model_config = ConfigDict(frozen=True)

    min_confidence: float = 0.6
    max_score: float = -0.3


def alert_id(rule: str, dedup_key: str) -> str:
    """Deterministic alert id: uuid5 of rule and dedup key."""
    return str(uuid.uuid5(ALERT_NAMESPACE, f"{rule}|{dedup_key}"))


def detect_negative_post(post: ScoredPost, config: NegativePostConfig = NegativePostConfig()) -> Alert | None:
    """A confidently negative text post becomes a crisis alert; severity grows with the author's influence
    (2 by default, 3 above influence 40 or verified, 4 above influence 70)."""
    event = post.event
    if event.kind.value not in _TEXT_KINDS or not event.text:
        return None
    if post.sentiment_label != "negative" or post.sentiment_score > config.max_score:
        return None
    if post.sentiment_confidence < config.min_confidence:
        return None
    severity = 2
    if post.author_influence >= 40 or event.author.verified:
        severity = 3
    if post.author_influence >= 70:
        severity = 4
    rule = "negative_post"
    dedup_key = f"{event.platform.value}:{event.event_id}"
    return Alert(
        alert_id=alert_id(rule, dedup_key),
        rule=rule,
        kind="crisis",
        severity=severity,
        title=f"Negative {event.kind.value} on {event.platform.value}" + (f" about {event.brand}" if event.brand else ""),
        dedup_key=dedup_key,
        customer_id=post.customer_id,
        event_id=event.event_id,
        platform=event.platform.value,
        brand=event.brand,
        occurred_at=event.occurred_at,
        evidence={
            "text": event.text[:500],
            "url": event.url,
            "author": event.author.handle or event.author.id,
            "followers": event.author.followers,
            "sentiment_score": post.sentiment_score,
            "confidence": post.sentiment_confidence,
            "topics": list(post.topics),
            "intents": list(post.intents),
            "author_influence": post.author_influence,
        },
    )
