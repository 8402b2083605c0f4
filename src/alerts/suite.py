"""All detectors over a batch, with explicit state in and out.

``state_keys`` says which state entries a batch needs (the repository loads and locks exactly those, plus
the questions due by the batch's watermark); ``run_detectors`` is pure: the same posts in the same state
give the same alerts and the same new state, whatever the batch boundaries. Callers pass only *fresh*
events (never applied before), so a replay never counts an event twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from alerts.config import AlertingConfig
from alerts.contracts import Alert, ScoredPost
from alerts.detectors import (
    detect_negative_post,
    detect_opportunities,
    detect_risk_terms,
    is_brand_account,
    is_negative,
)
from alerts.replies import load_templates, suggest
from alerts.spike import observe_negative
from alerts.state import DetectorState, scope_keys
from alerts.velocity import (
    expire_questions,
    is_hit,
    is_question,
    observe_hit,
    pending_question,
    track_negative,
)
from ingest.contracts import post_key


def _ordered(posts: Iterable[ScoredPost]) -> list[ScoredPost]:
    return sorted(posts, key=lambda p: (p.event.occurred_at_utc, p.event.post_key, p.event.event_key))


def _negative_for_spike(post: ScoredPost, config: AlertingConfig) -> bool:
    return is_negative(post, max_score=config.negative_post.max_score, min_confidence=config.spike.min_confidence)


def _negative_for_velocity(post: ScoredPost, config: AlertingConfig) -> bool:
    return is_negative(post, max_score=config.negative_post.max_score, min_confidence=config.velocity.min_confidence)


def _brand_reply_parent(post: ScoredPost, config: AlertingConfig) -> str | None:
    event = post.event
    if event.parent_id and is_brand_account(post, config.opportunity):
        return post_key(event.platform.value, event.parent_id)
    return None


def state_keys(posts: Iterable[ScoredPost], config: AlertingConfig) -> set[str]:
    """Pure. Storage keys of the state entries ``posts`` read or write."""
    keys: set[str] = set()
    for post in posts:
        event = post.event
        own = event.post_key
        if config.spike.enabled and _negative_for_spike(post, config):
            keys.update(f"scope:{k}" for k in scope_keys(post, config.spike.scopes))
        if config.velocity.enabled:
            if _negative_for_velocity(post, config):
                keys.add(f"track:{own}")
            if is_hit(post):
                keys.add(f"track:{post_key(event.platform.value, event.parent_id or '')}")
        if config.opportunity.enabled:
            if is_question(post, config.opportunity):
                keys.add(f"question:{own}")
            parent = _brand_reply_parent(post, config)
            if parent:
                keys.add(f"question:{parent}")
    return keys


def watermark(posts: Iterable[ScoredPost]) -> datetime | None:
    """The latest event time among ``posts`` (``None`` for none)."""
    return max((p.event.occurred_at_utc for p in posts), default=None)


def run_detectors(
    posts: Sequence[ScoredPost], state: DetectorState, config: AlertingConfig
) -> tuple[list[Alert], DetectorState]:
    """Pure. Alerts raised by ``posts`` (processed in event-time order) and the state after them; each alert
    carries its evidence and, where a template fits, a suggested reply. Questions in ``state`` due by the
    batch's watermark fire as ``unanswered_question``."""
    scopes, tracked, questions = dict(state.scopes), dict(state.tracked), dict(state.questions)
    alerts: list[Alert] = []
    for post in _ordered(posts):
        event = post.event
        own = event.post_key
        per_post = detect_negative_post(post, config.negative_post, config.risk_terms)
        per_post = per_post or detect_risk_terms(post, config.risk_terms)
        alerts.extend([per_post] if per_post else [])
        alerts.extend(detect_opportunities(post, config.opportunity))
        if config.spike.enabled and _negative_for_spike(post, config):
            fired = []
            for scope in scope_keys(post, config.spike.scopes):
                scopes[scope], alert = observe_negative(scope, scopes.get(scope), post, config.spike)
                fired.extend([alert] if alert else [])
            alerts.extend(_merge_spike_alerts(fired))
        if config.velocity.enabled:
            if _negative_for_velocity(post, config) and own not in tracked:
                tracked[own], alert = track_negative(post, config.velocity)
                alerts.extend([alert] if alert else [])
            parent = post_key(event.platform.value, event.parent_id or "")
            if is_hit(post) and parent in tracked:
                tracked[parent], alert = observe_hit(tracked[parent], post, config.velocity)
                alerts.extend([alert] if alert else [])
        if config.opportunity.enabled:
            if is_question(post, config.opportunity) and own not in questions:
                questions[own] = pending_question(post, config.opportunity)
            answered = _brand_reply_parent(post, config)
            if answered:
                questions.pop(answered, None)
    mark = watermark(posts)
    if mark is not None:
        due, unanswered = expire_questions(questions.items(), mark, config.opportunity)
        for key in due:
            questions.pop(key)
        alerts.extend(unanswered)
        tracked = {k: v for k, v in tracked.items() if v.expires_at >= mark}
    templates = load_templates(config.reply_templates)
    alerts = [_with_reply(a, templates) for a in dict((a.alert_id, a) for a in alerts).values()]
    new_state = DetectorState(scopes=scopes, tracked=tracked, questions=questions, caps=state.caps)
    return alerts, new_state


def _merge_spike_alerts(fired: list[Alert]) -> list[Alert]:
    """One post crossing several scopes' thresholds (brand, topic, platform) is one alert with every
    scope's numbers in its evidence."""
    if len(fired) <= 1:
        return fired
    top = max(fired, key=lambda a: a.severity)
    scopes: dict[str, Any] = {}
    for alert in fired:
        scopes.update(alert.evidence["scopes"])
    return [top.model_copy(update={"evidence": {**top.evidence, "scopes": scopes}})]


def _with_reply(alert: Alert, templates: Any) -> Alert:
    evidence = alert.evidence
    source = evidence.get("post") if isinstance(evidence.get("post"), dict) else evidence
    author = source.get("author") if isinstance(source, dict) else None
    text = source.get("text") if isinstance(source, dict) else None
    reply = suggest(alert, templates, author=author, text=text)
    return alert.model_copy(update={"suggested_reply": reply}) if reply else alert
