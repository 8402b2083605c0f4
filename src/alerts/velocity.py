"""Stateful per-post detectors on event time: negative share velocity and unanswered questions.

- A confident negative post is *tracked* for ``track_hours``. Shares, replies and comments whose
  ``parent_id`` names it count as hits; ``min_interactions`` hits within ``window_minutes`` of each other
  fire (and fire again each time the count grows by half). A post first seen with metrics already showing
  ``min_interactions`` and ``min_rate_per_hour`` (shares + replies per hour since it was posted, measured at
  ``received_at``) fires at once.
- A question to a brand is *pending* until a brand account replies (``parent_id`` = the question) or the
  event-time watermark passes ``due_at``: then it is an ``unanswered_question`` opportunity.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta

from alerts.config import OpportunityConfig, VelocityConfig
from alerts.contracts import Alert, ScoredPost
from alerts.detectors import alert_id, crisis_key, is_brand_account, make_alert
from alerts.state import PendingQuestion, PostRef, TrackedPost
from ingest.contracts import event_key, post_key

_HIT_KINDS = frozenset({"share", "reply", "comment"})


def track_negative(post: ScoredPost, config: VelocityConfig) -> tuple[TrackedPost, Alert | None]:
    """Pure. Start tracking a negative post; fires at once when its metrics already show fast sharing."""
    event = post.event
    tracked = TrackedPost(
        post=PostRef.of(post), brand=event.brand, topic=post.topics[0] if post.topics else None,
        language=post.language, expires_at=event.occurred_at_utc + timedelta(hours=config.track_hours),
    )
    interactions = event.metrics.shares + event.metrics.replies
    hours = max(1 / 60, (event.received_at - event.occurred_at).total_seconds() / 3600)
    rate = interactions / hours
    if interactions < config.min_interactions or rate < config.min_rate_per_hour:
        return tracked, None
    tracked = tracked.model_copy(update={"fired_at": interactions})
    return tracked, _alert(tracked, post, interactions, rate, source="metrics")


def is_hit(post: ScoredPost) -> bool:
    """A share, reply or comment pointing at a parent post."""
    return post.event.kind.value in _HIT_KINDS and post.event.parent_id is not None


def observe_hit(tracked: TrackedPost, hit: ScoredPost, config: VelocityConfig) -> tuple[TrackedPost, Alert | None]:
    """Pure. Count a share/reply of a tracked post; hits outside the window (on event time) age out."""
    at = hit.event.occurred_at_utc
    if at > tracked.expires_at:
        return tracked, None
    window = timedelta(minutes=config.window_minutes)
    keep = max(4 * config.min_interactions, 64)
    hits = tuple(sorted(h for h in (*tracked.hits, at) if at - window <= h <= at + window))[-keep:]
    ref = PostRef.of(hit)
    sharers = tuple(sorted((*tracked.sharers, ref), key=lambda r: (-r.influence, r.event_id))[:5])
    recent = sum(1 for h in hits if at - window <= h <= at)
    tracked = tracked.model_copy(update={"hits": hits, "sharers": sharers})
    step_up = max(config.min_interactions, math.ceil(tracked.fired_at * 1.5), tracked.fired_at + 1)
    if recent < step_up:
        return tracked, None
    span_hours = max(1 / 60, (at - min(h for h in hits if h >= at - window)).total_seconds() / 3600)
    tracked = tracked.model_copy(update={"fired_at": recent})
    return tracked, _alert(tracked, hit, recent, recent / span_hours, source="share_events")


def _alert(tracked: TrackedPost, trigger: ScoredPost, interactions: int, rate: float, *, source: str) -> Alert:
    post = tracked.post
    severity = 3 + (interactions >= 100) + (interactions >= 1000)
    dedup_key = crisis_key(tracked.brand, f"velocity:{post_key(post.platform, post.event_id)}")
    evidence = {
        "post": post.model_dump(mode="json"),
        "interactions": interactions,
        "per_hour": round(rate, 1),
        "source": source,
        "top_sharers": [s.model_dump(mode="json") for s in tracked.sharers],
    }
    alert = make_alert(
        rule="negative_velocity", kind="crisis", severity=severity,
        title=f"Negative post by {post.author} spreading fast ({interactions} shares/replies)",
        dedup_key=dedup_key, post=trigger, evidence=evidence, id_suffix=f"|{post.event_id}|{interactions}",
    )
    return alert.model_copy(update={"brand": tracked.brand or alert.brand, "topic": tracked.topic or alert.topic})


def is_question(post: ScoredPost, config: OpportunityConfig) -> bool:
    """A customer's question to a brand: a text the intent head calls a question (a question mark alone
    is not one: "用了一个月了，没什么问题？" is a statement), by anyone but the brands' own accounts."""
    event = post.event
    if event.kind.value not in {"post", "mention", "comment", "reply", "chat_message"} or not event.text:
        return False
    if not event.brand or is_brand_account(post, config):
        return False
    return "question" in post.intents


def pending_question(post: ScoredPost, config: OpportunityConfig) -> PendingQuestion:
    """Pure. The question waiting for a brand reply until ``occurred_at + answer_within_minutes``."""
    return PendingQuestion(
        post=PostRef.of(post), brand=post.event.brand, topic=post.topics[0] if post.topics else None,
        language=post.language, intents=post.intents,
        due_at=post.event.occurred_at_utc + timedelta(minutes=config.answer_within_minutes),
    )


def expire_questions(
    questions: Iterable[tuple[str, PendingQuestion]], watermark: datetime, config: OpportunityConfig
) -> tuple[list[str], list[Alert]]:
    """Pure. Questions due at or before ``watermark`` (event time): their keys and one alert each."""
    keys, alerts = [], []
    for key, question in sorted(questions, key=lambda kq: (kq[1].due_at, kq[0])):
        if question.due_at > watermark:
            continue
        keys.append(key)
        alerts.append(unanswered_alert(question, config))
    return keys, alerts


def unanswered_alert(question: PendingQuestion, config: OpportunityConfig) -> Alert:
    """The ``unanswered_question`` opportunity for a question past its due time: severity 3 from a star
    (``star_min_influence`` / ``star_min_followers``), else 2 (a digest item). One incident per brand and
    asking account while it is open: a person answers the account, not each question."""
    post = question.post
    rule = "unanswered_question"
    author = post.author_id or post.author
    dedup_key = f"opportunity:{rule}:{question.brand or '-'}:{post.platform}:{author}"
    return Alert(
        alert_id=alert_id(rule, dedup_key, post.event_id),
        rule=rule, kind="opportunity", severity=3 if config.is_star(post.influence, post.followers or 0) else 2,
        title=f"Question from {post.author} unanswered for {config.answer_within_minutes} min"
              + (f" ({question.brand})" if question.brand else ""),
        dedup_key=dedup_key, customer_id=post.customer_id, event_id=post.event_id, platform=post.platform,
        event_key=event_key(post.platform, post.author_id, post.event_id) if post.author_id else None,
        brand=question.brand, topic=question.topic, language=question.language, occurred_at=question.due_at,
        evidence={**post.model_dump(mode="json"), "intents": list(question.intents),
                  "asked_at": post.occurred_at.isoformat(), "due_at": question.due_at.isoformat()},
    )
