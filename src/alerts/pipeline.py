"""The alert part of a batch's transaction: detectors with their durable state, incidents, the outbox.

``process_posts`` runs inside the caller's transaction (the one that enters the batch's events in the
detectors' ledger, ``repository.claim_events``), so detector state, incidents, signals and outbox rows
commit together with that ledger: a batch either counted and alerted once, or not at all. Only fresh
posts (never seen by the detectors) move detector state; alerts of replayed events are read back from ``alert_signals`` and returned again with
the same ids, so a worker killed after the commit but before publishing re-publishes them.

The watermark's marks and the posts held for it are detector state too (``mark:``, ``pending:``), so they
commit with the ledger and survive restarts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from alerts.config import AlertingConfig
from alerts.contracts import Alert, ScoredPost
from alerts.incidents import cap_key, fold_alerts, group_keys
from alerts.repository import (
    incident_generations,
    load_detector_state,
    load_marks,
    open_incidents,
    record_signals,
    save_detector_state,
    save_incidents,
    signals_of_events,
)
from alerts.state import CapCounter, DetectorState, PendingPost
from alerts.suite import advance_marks, detect_posts, run_windowed, settle_point, state_keys


def process_posts(
    fresh: Sequence[ScoredPost],
    replayed_event_keys: Iterable[str],
    *,
    config: AlertingConfig,
    now: datetime,
    session: Session,
    progress: Mapping[str, datetime] | None = None,
    positions: int = 1,
) -> list[Alert]:
    """Blocks (takes the detectors' watermark lock and PostgreSQL advisory locks on the state it touches).
    ``progress``: the latest event time this batch showed per stream position, of ``positions`` in all
    (``None``: the posts are one ordered stream). Per-post detectors judge every fresh post at once (an
    alert never waits for a quiet partition); windowed ones take posts once the watermark settles them
    (or, counted late, at once when they came later than the allowance), in event-time order. Returns the
    batch's alerts — fresh ones stamped with their incident (per-post ones, then windowed ones of every
    post settled now, held posts included), then replayed events' stored ones. Never commits; raises on database errors (the caller's
    transaction then applies nothing)."""
    replayed = signals_of_events(replayed_event_keys, session=session)
    if not fresh:
        return replayed
    allowance = timedelta(seconds=config.late_allowance_seconds)
    marks = load_marks(session=session).marks
    idle = timedelta(seconds=config.idle_partition_seconds)
    settled_before = settle_point(marks, positions, allowance, now=now, idle=idle)
    marks = advance_marks(marks, progress if progress is not None else {"-": max(p.event.occurred_at_utc for p in fresh)},
                          now)
    settled = settle_point(marks, positions, allowance, now=now, idle=idle)
    late = [p for p in fresh if settled_before is not None and p.event.occurred_at_utc < settled_before]
    held = {p.event.event_key: PendingPost(post=p, due_at=p.event.occurred_at_utc)
            for p in fresh if settled_before is None or p.event.occurred_at_utc >= settled_before}
    due = load_detector_state((), session=session, due_by=settled) if settled is not None else DetectorState()
    held |= due.pending
    ready = [h.post for h in held.values() if settled is not None and h.due_at <= settled]
    state = load_detector_state(state_keys(ready, config, late), session=session)
    state = state.model_copy(update={"questions": {**due.questions, **state.questions}})
    loaded = state.keys() | due.keys()
    windowed, state = run_windowed(ready, state, config, settled=settled, late=late)
    raised = [*detect_posts(fresh, config), *windowed]
    caps: dict[str, CapCounter] = {}
    if raised:
        cap_keys = {f"cap:{cap_key(a, config.incidents)}" for a in raised}
        loaded_caps = load_detector_state(cap_keys, session=session).caps
        loaded |= {f"cap:{k}" for k in loaded_caps}
        dedup_keys = {k for a in raised for k in group_keys(a, config.incidents)}
        current = open_incidents(dedup_keys, session=session)
        generations = incident_generations(dedup_keys - set(current), session=session)
        folded = fold_alerts(raised, current, loaded_caps, config.incidents, now, generations)
        caps = folded.caps
        save_incidents([(folded.incidents[k], folded.changes[k]) for k in folded.incidents], session=session)
        raised = folded.alerts
        record_signals(raised, session=session)
    pending = {k: h for k, h in held.items() if settled is None or h.due_at > settled}
    save_detector_state(loaded, state.model_copy(update={"caps": caps, "marks": marks, "pending": pending}),
                        session=session)
    fresh_ids = {a.alert_id for a in raised}
    return [*raised, *(a for a in replayed if a.alert_id not in fresh_ids)]
