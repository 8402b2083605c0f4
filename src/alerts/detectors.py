"""Per-post detectors: pure functions from a ``ScoredPost`` (and a frozen config) to alerts with evidence.

- ``detect_negative_post``: influential negative — a confident negative post by an author with reach; any
  risk terms it contains join its evidence (one alert per post).
- ``detect_risk_terms``: risk phrases in a post by anyone else.
- ``detect_opportunities``: purchase intent / recommendation requests, an influencer's positive mention,
  an advocate's new content.
Stateful detectors live in ``alerts.spike`` and ``alerts.velocity``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from alerts.config import NegativePostConfig, OpportunityConfig, RiskTermsConfig
from alerts.contracts import Alert, AlertKind, ScoredPost
from alerts.state import PostRef
from alerts.text import matches

ALERT_NAMESPACE = uuid.UUID("0b6f3c1a-7d4e-4f2a-8c5b-9e1d2a3b4c5d")
TEXT_KINDS = frozenset({"post", "mention", "comment", "reply", "review", "chat_message"})
CONTENT_KINDS = frozenset({"post", "mention", "review"})


def alert_id(rule: str, dedup_key: str, trigger: str = "") -> str:
    """Deterministic alert id: uuid5 of rule, dedup key and triggering event (its event key, so two
    authors' events with one event id raise two alerts; plus a step for a detector that fires several
    times on one event)."""
    return str(uuid.uuid5(ALERT_NAMESPACE, f"{rule}|{dedup_key}|{trigger}"))


def crisis_key(brand: str | None, fallback: str) -> str:
    """Dedup key shared by the aggregate crisis detectors (spike, velocity, risk terms): one incident per
    brand while it is open, so a crisis forming is one incident that grows."""
    return f"crisis:brand:{brand}" if brand else f"crisis:{fallback}"


def make_alert(
    *,
    rule: str,
    kind: AlertKind,
    severity: int,
    title: str,
    dedup_key: str,
    post: ScoredPost,
    evidence: dict[str, Any],
    occurred_at: datetime | None = None,
    id_suffix: str = "",
) -> Alert:
    """An alert triggered by ``post``, with its deterministic id."""
    event = post.event
    return Alert(
        alert_id=alert_id(rule, dedup_key, event.event_key + id_suffix),
        rule=rule,
        kind=kind,
        severity=max(1, min(5, severity)),
        title=title,
        dedup_key=dedup_key,
        customer_id=post.customer_id,
        event_id=event.event_id,
        platform=event.platform.value,
        event_key=event.event_key,
        brand=event.brand,
        topic=post.topics[0] if post.topics else None,
        language=post.language,
        occurred_at=occurred_at or event.occurred_at_utc,
        evidence=evidence,
    )


def post_evidence(post: ScoredPost) -> dict[str, Any]:
    """The post itself as evidence (text truncated to 500 characters)."""
    ref = PostRef.of(post, text_chars=500).model_dump(mode="json")
    return {
        **ref,
        "text": (post.event.text or "")[:500],
        "confidence": post.sentiment_confidence,
        "topics": list(post.topics),
        "intents": list(post.intents),
        "author_influence": post.author_influence,
    }


def _is_text(post: ScoredPost) -> bool:
    return post.event.kind.value in TEXT_KINDS and bool(post.event.text)


def is_negative(post: ScoredPost, *, max_score: float, min_confidence: float) -> bool:
    """A confidently negative text post."""
    return (
        _is_text(post)
        and post.sentiment_label == "negative"
        and post.sentiment_score <= max_score
        and post.sentiment_confidence >= min_confidence
    )


def detect_negative_post(post: ScoredPost, config: NegativePostConfig, risk: RiskTermsConfig) -> Alert | None:
    """Influential negative: severity 3, 4 for influence >= 70 or a million followers, +1 (max 5) when it
    also holds a severe risk term. Dedup per brand and author account (its identity key, not the customer
    id, which changes when the identity lane merges accounts: the incident must not depend on when that
    happened): one incident per complaining influencer."""
    if not config.enabled or not is_negative(post, max_score=config.max_score, min_confidence=config.min_confidence):
        return None
    author = post.event.author
    followers = author.followers or 0
    influential = (
        post.author_influence >= config.min_influence
        or followers >= config.min_followers
        or (config.verified_counts and author.verified)
    )
    if not influential:
        return None
    severity = 4 if post.author_influence >= 70 or followers >= 1_000_000 else 3
    terms = matches(post.event.text or "", risk.terms) if risk.enabled else []
    if any(term in risk.severe for term in terms):
        severity += 1
    event = post.event
    rule = "negative_post"
    dedup_key = f"{rule}:{event.brand or '-'}:{event.identity_key}"
    title = f"Influential negative {event.kind.value} on {event.platform.value}" + (
        f" about {event.brand}" if event.brand else ""
    )
    evidence = {**post_evidence(post), "risk_terms": terms, "reason": "influential_author"}
    return make_alert(rule=rule, kind="crisis", severity=severity, title=title, dedup_key=dedup_key, post=post,
                      evidence=evidence)


def detect_risk_terms(post: ScoredPost, config: RiskTermsConfig) -> Alert | None:
    """Risk phrases in a text post: severity 4 with a severe term, else 2. Shares the brand's crisis
    incident."""
    if not config.enabled or not _is_text(post) or post.sentiment_label == "positive":
        return None
    terms = matches(post.event.text or "", config.terms)
    if not terms:
        return None
    severe = [t for t in terms if t in config.severe]
    event = post.event
    rule = "risk_terms"
    dedup_key = crisis_key(event.brand, f"{event.platform.value}:{event.author.id}")
    title = f"Risk terms ({', '.join(terms[:3])}) on {event.platform.value}" + (
        f" about {event.brand}" if event.brand else ""
    )
    evidence = {**post_evidence(post), "risk_terms": terms, "severe_terms": severe}
    return make_alert(rule=rule, kind="crisis", severity=4 if severe else 2, title=title, dedup_key=dedup_key,
                      post=post, evidence=evidence)


def detect_opportunities(post: ScoredPost, config: OpportunityConfig) -> list[Alert]:
    """Purchase intent (severity 2, a digest item; 4 from an influencer), an influencer's positive mention
    (2; 3 from a star: ``star_min_influence`` or ``star_min_followers``) and an advocate's new positive
    content (2). Praise means a positive post that the intent head does not call a complaint; praise and
    advocate content must name a brand (no brand: nothing to amplify and nobody's budget or digest). One incident
    per kind, brand and author account (identity key) while open."""
    if not config.enabled or not _is_text(post) or is_brand_account(post, config):
        return []
    event = post.event
    alerts: list[Alert] = []
    brand = event.brand or "-"
    followers = event.author.followers or 0
    influencer = (post.author_influence >= config.influencer_min_influence
                  or followers >= config.influencer_min_followers)
    intents = [i for i in post.intents if i in config.purchase_intents]
    phrases = matches(event.text or "", config.purchase_phrases)
    if (intents or phrases) and post.sentiment_label != "negative":
        rule = "purchase_intent"
        alerts.append(make_alert(
            rule=rule, kind="opportunity", severity=4 if influencer else 2,
            title=f"Purchase intent on {event.platform.value}" + (f" for {event.brand}" if event.brand else ""),
            dedup_key=f"opportunity:{rule}:{brand}:{event.identity_key}", post=post,
            evidence={**post_evidence(post), "matched_intents": intents, "matched_phrases": phrases},
        ))
    # praise: positive and not a complaint (a complaint the sentiment model misread is no praise)
    positive = (post.sentiment_label == "positive" and post.sentiment_score >= config.min_positive_score
                and "complaint" not in post.intents)
    if positive and influencer and event.brand:
        rule = "influencer_positive"
        big = config.is_star(post.author_influence, followers)
        alerts.append(make_alert(
            rule=rule, kind="opportunity", severity=3 if big else 2,
            title=f"Influencer praises {event.brand} on {event.platform.value}",
            dedup_key=f"opportunity:{rule}:{brand}:{event.identity_key}", post=post, evidence=post_evidence(post),
        ))
    advocate = post.author_lifecycle in config.advocate_lifecycles
    if advocate and event.kind.value in CONTENT_KINDS and positive and event.brand:
        rule = "advocate_content"
        alerts.append(make_alert(
            rule=rule, kind="opportunity", severity=2,
            title=f"New content from advocate {event.author.handle or event.author.id}",
            dedup_key=f"opportunity:{rule}:{brand}:{event.identity_key}", post=post, evidence=post_evidence(post),
        ))
    return alerts


def is_brand_account(post: ScoredPost, config: OpportunityConfig) -> bool:
    """Whether the author is one of the brands' own accounts (by identity key or handle)."""
    return config.is_brand(post.event.identity_key, post.event.author.handle)
