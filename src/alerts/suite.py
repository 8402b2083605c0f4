"""All detectors over a batch, with explicit state in and out.

Per-post detectors (``detect_posts``) judge a post as soon as it comes: each needs its post only. Windowed
ones (``run_windowed``) take posts only once they are *settled* — the watermark (the least progress over
every stream position, ``settle_point``) less the late allowance has passed them — and then in event-time
order, so the same
posts give the same alerts and the same state however partitions interleave and batches fall. ``state_keys``
says which state entries settled posts need (the repository loads and locks exactly those, plus the
questions and held posts due by the settle point). Callers pass only *fresh* events (never applied
before), so a replay never counts an event twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from alerts.config import AlertingConfig
from alerts.contracts import Alert, ScoredPost
from alerts.coordinated import observe_post, watches
from alerts.detectors import (
    detect_negative_post,
    detect_opportunities,
    detect_risk_terms,
    is_brand_account,
    is_negative,
)
from alerts.replies import load_templates, suggest
from alerts.spike import count_late, observe_negative
from alerts.state import DetectorState, PartitionMark, scope_keys
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


def _discounted(post: ScoredPost, config: AlertingConfig) -> bool:
    """Posts no detector counts: the brands' own, and spam."""
    return post.spam >= config.spam_threshold or is_brand_account(post, config.opportunity)


def _negative_for_spike(post: ScoredPost, config: AlertingConfig) -> bool:
    return (is_negative(post, max_score=config.negative_post.max_score, min_confidence=config.spike.min_confidence)
            and not _discounted(post, config))


def _negative_for_velocity(post: ScoredPost, config: AlertingConfig) -> bool:
    return (is_negative(post, max_score=config.negative_post.max_score, min_confidence=config.velocity.min_confidence)
            and not _discounted(post, config))


def _asks(post: ScoredPost, config: AlertingConfig) -> bool:
    return is_question(post, config.opportunity) and post.spam < config.spam_threshold


def _watched(post: ScoredPost, config: AlertingConfig) -> bool:
    """Posts the coordinated-accounts detector compares (spam included: it looks for spam campaigns)."""
    return config.coordinated.enabled and watches(post) and not is_brand_account(post, config.opportunity)


def _brand_reply_parent(post: ScoredPost, config: AlertingConfig) -> str | None:
    event = post.event
    if event.parent_id and is_brand_account(post, config.opportunity):
        return post_key(event.platform.value, event.parent_id)
    return None


def state_keys(posts: Iterable[ScoredPost], config: AlertingConfig, late: Iterable[ScoredPost] = ()) -> set[str]:
    """Pure. Storage keys of the state entries the windowed detectors read or write for settled ``posts``
    and ``late`` ones (counted late in their spike scopes)."""
    keys: set[str] = set()
    if config.spike.enabled:
        keys.update(f"scope:{k}" for post in late if _negative_for_spike(post, config)
                    for k in scope_keys(post, config.spike.scopes))
    for post in posts:
        event = post.event
        own = event.post_key
        if _watched(post, config):
            keys.add(f"coord:{event.brand}")
        if config.spike.enabled and _negative_for_spike(post, config):
            keys.update(f"scope:{k}" for k in scope_keys(post, config.spike.scopes))
        if config.velocity.enabled:
            if _negative_for_velocity(post, config):
                keys.add(f"track:{own}")
            if is_hit(post):
                keys.add(f"track:{post_key(event.platform.value, event.parent_id or '')}")
        if config.opportunity.enabled:
            if _asks(post, config):
                keys.add(f"question:{own}")
            parent = _brand_reply_parent(post, config)
            if parent:
                keys.add(f"question:{parent}")
    return keys


def watermark(posts: Iterable[ScoredPost]) -> datetime | None:
    """The latest event time among ``posts`` (``None`` for none)."""
    return max((p.event.occurred_at_utc for p in posts), default=None)


def advance_marks(
    marks: Mapping[str, PartitionMark], progress: Mapping[str, datetime], now: datetime
) -> dict[str, PartitionMark]:
    """Pure. Each stream position's mark moved up to what ``progress`` shows (marks never go back), stamped
    with the wall-clock ``now`` it moved (and first appeared)."""
    out = dict(marks)
    for position, at in progress.items():
        old = out.get(position)
        if old is None or old.at < at:
            out[position] = PartitionMark(at=at, since=old.since if old and old.since else now, moved_at=now)
    return out


def settle_point(
    marks: Mapping[str, PartitionMark], positions: int, allowance: timedelta, *, now: datetime,
    idle: timedelta,
) -> datetime | None:
    """Pure. The watermark less the late allowance: every post not read yet and no later than the allowance
    is after it. The watermark is the least mark over the stream positions that moved within ``idle`` (wall
    clock): a quiet partition does not hold windowed alerts back for longer than that; when every position
    is quiet, the greatest mark (everything read is settled). ``None`` while fewer than ``positions``
    positions have shown a mark, for at most ``idle`` after the first did."""
    if not marks:
        return None
    first = min((m.since for m in marks.values() if m.since is not None), default=None)
    if len(marks) < positions and (first is None or now - first < idle):
        return None
    active = [m.at for m in marks.values() if m.moved_at is None or now - m.moved_at < idle]
    return (min(active) if active else max(m.at for m in marks.values())) - allowance


def detect_posts(posts: Sequence[ScoredPost], config: AlertingConfig) -> list[Alert]:
    """Pure. The per-post detectors' alerts (influential negative, risk terms, opportunities): each needs
    its post only, so they fire at once, whatever the watermark. The brands' own accounts and spam (spam
    likelihood at least ``spam_threshold``) raise none."""
    alerts: list[Alert] = []
    for post in _ordered(posts):
        if _discounted(post, config):  # a brand's own post or spam is neither a crisis nor a lead
            continue
        per_post = detect_negative_post(post, config.negative_post, config.risk_terms)
        per_post = per_post or detect_risk_terms(post, config.risk_terms)
        alerts.extend([per_post] if per_post else [])
        alerts.extend(detect_opportunities(post, config.opportunity))
    return _finished(alerts, config)


def run_windowed(
    posts: Sequence[ScoredPost],
    state: DetectorState,
    config: AlertingConfig,
    *,
    settled: datetime | None,
    late: Sequence[ScoredPost] = (),
) -> tuple[list[Alert], DetectorState]:
    """Pure. The windowed detectors (coordinated accounts, spike, share velocity, unanswered questions) over
    settled ``posts``, taken in event-time order, and the state after them. A post in a coordinated cluster
    counts in no spike, share velocity or question. ``late`` posts (behind the settle point when they
    came) only add to their spike scopes' late counts: they never reopen a window (nor join a cluster).
    Questions due by ``settled`` fire; tracked posts whose tracking ended before it are dropped."""
    scopes, tracked, questions = dict(state.scopes), dict(state.tracked), dict(state.questions)
    windows = dict(state.coordinated)
    alerts: list[Alert] = []
    if config.spike.enabled:
        for post in late:
            if _negative_for_spike(post, config):
                for scope in scope_keys(post, config.spike.scopes):
                    scopes[scope] = count_late(scopes.get(scope))
    for post in _ordered(posts):
        event = post.event
        own = event.post_key
        if _watched(post, config):
            brand = event.brand or ""
            windows[brand], alert, clustered = observe_post(windows.get(brand), post, config.coordinated)
            alerts.extend([alert] if alert else [])
            if clustered:  # a coordinated account's post is neither a crisis signal nor a question
                continue
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
            if _asks(post, config) and own not in questions:
                questions[own] = pending_question(post, config.opportunity)
            answered = _brand_reply_parent(post, config)
            if answered:
                questions.pop(answered, None)
    if settled is not None:
        due, unanswered = expire_questions(questions.items(), settled, config.opportunity)
        for key in due:
            questions.pop(key)
        alerts.extend(unanswered)
        tracked = {k: v for k, v in tracked.items() if v.expires_at >= settled}
    new_state = state.model_copy(update={"scopes": scopes, "tracked": tracked, "questions": questions,
                                         "coordinated": windows})
    return _finished(alerts, config), new_state


def run_detectors(
    posts: Sequence[ScoredPost], state: DetectorState, config: AlertingConfig
) -> tuple[list[Alert], DetectorState]:
    """Pure. Every detector over ``posts`` taken as settled (in event-time order, up to the latest of
    them): the per-post alerts, then the windowed ones, and the state after them; each alert carries its
    evidence and, where a template fits, a suggested reply."""
    windowed, new_state = run_windowed(posts, state, config, settled=watermark(posts))
    return [*detect_posts(posts, config), *windowed], new_state


def _finished(alerts: list[Alert], config: AlertingConfig) -> list[Alert]:
    """Alerts without repeats (by id), each with a suggested reply where a template fits."""
    templates = load_templates(config.reply_templates)
    return [_with_reply(a, templates) for a in dict((a.alert_id, a) for a in alerts).values()]


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
