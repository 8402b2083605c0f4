"""The alert part of a batch's transaction: detectors with their durable state, incidents, the outbox.

``process_posts`` runs inside the caller's transaction (the one that enters the batch's events in the
detectors' ledger, ``repository.claim_events``), so detector state, incidents, signals and outbox rows
commit together with that ledger: a batch either counted and alerted once, or not at all. Only fresh
posts (never seen by the detectors) move detector state; alerts of replayed events are read back from ``alert_signals`` and returned again with
the same ids, so a worker killed after the commit but before publishing re-publishes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from alerts.config import AlertingConfig
from alerts.contracts import Alert, ScoredPost
from alerts.incidents import cap_key, fold_alerts
from alerts.repository import (
    incident_generations,
    load_detector_state,
    open_incidents,
    record_signals,
    save_detector_state,
    save_incidents,
    signals_of_events,
)
from alerts.state import DetectorState
from alerts.suite import run_detectors, state_keys, watermark


def process_posts(
    fresh: Sequence[ScoredPost],
    replayed_event_keys: Iterable[str],
    *,
    config: AlertingConfig,
    now: datetime,
    session: Session,
) -> list[Alert]:
    """Blocks (takes PostgreSQL advisory locks on the state it touches). Returns the batch's alerts —
    fresh ones stamped with their incident, then replayed events' stored ones. Never commits; raises on
    database errors (the caller's transaction then applies nothing)."""
    replayed = signals_of_events(replayed_event_keys, session=session)
    if not fresh:
        return replayed
    keys = state_keys(fresh, config)
    state = load_detector_state(keys, session=session, due_by=watermark(fresh))
    loaded = state.keys()
    raised, state = run_detectors(fresh, state, config)
    if raised:
        cap_keys = {f"cap:{cap_key(a, config.incidents)}" for a in raised}
        caps = load_detector_state(cap_keys, session=session).caps
        loaded |= {f"cap:{k}" for k in caps}
        dedup_keys = {a.dedup_key for a in raised} | {f"overflow:{a.rule}:{a.brand or '-'}" for a in raised}
        current = open_incidents(dedup_keys, session=session)
        generations = incident_generations(dedup_keys - set(current), session=session)
        folded = fold_alerts(raised, current, caps, config.incidents, now, generations)
        state = DetectorState(scopes=state.scopes, tracked=state.tracked, questions=state.questions,
                              caps={**state.caps, **folded.caps})
        save_incidents([(folded.incidents[k], folded.changes[k]) for k in folded.incidents], session=session)
        raised = folded.alerts
        record_signals(raised, session=session)
    save_detector_state(loaded, state, session=session)
    fresh_ids = {a.alert_id for a in raised}
    return [*raised, *(a for a in replayed if a.alert_id not in fresh_ids)]
