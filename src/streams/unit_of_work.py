"""Apply a batch of enriched events to durable state: profiles, alerts and analytics.

Shared by both runtimes. One database transaction folds the unseen events into their profiles, records
them in the idempotency ledger and stores the alerts they raise; only after it commits does the caller
acknowledge its input. A replayed batch finds every event in the ledger and changes nothing; analytics
rows are keyed by event, so re-inserting them is harmless.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from alerts.contracts import Alert
from alerts.detectors import NegativePostConfig
from alerts.repository import record_alerts
from analytics.client import AnalyticsClient
from analytics.writer import write_events
from profile_store.contracts import CustomerProfile
from profile_store.repository import load_profiles, mark_processed, save_profiles, unseen_event_keys
from streams.contracts import EnrichedEvent
from streams.steps.alert import detect_alerts
from streams.steps.analytics import event_row
from streams.steps.profile import event_key, fold_event


@dataclass(frozen=True)
class BatchOutcome:
    """What a batch did: the events that were new, the profiles they changed, and the alerts the whole
    batch raises (deterministic ids: a replayed event yields the same alert again)."""

    applied: tuple[EnrichedEvent, ...]
    profiles: tuple[CustomerProfile, ...]
    alerts: tuple[Alert, ...]


def apply_enriched_batch(
    events: Sequence[EnrichedEvent],
    *,
    session_factory: sessionmaker[Session],
    analytics: AnalyticsClient | None,
    alert_config: NegativePostConfig = NegativePostConfig(),
) -> BatchOutcome:
    """Blocks. Idempotent by ``<platform>:<event_id>``: only unseen events are folded. Alerts and analytics
    rows are produced for every event of the batch (replayed ones too), because a worker killed after the
    commit but before publishing must re-publish them on replay; both are keyed, so duplicates collapse.
    Raises on database errors (then nothing is applied)."""
    with session_factory() as session, session.begin():
        unseen = unseen_event_keys((event_key(e) for e in events), session=session)
        fresh: list[EnrichedEvent] = []
        for enriched in events:
            key = event_key(enriched)
            if key in unseen:
                unseen.discard(key)
                fresh.append(enriched)
        profiles = load_profiles({e.customer_id for e in events}, session=session)
        for enriched in fresh:
            profiles[enriched.customer_id] = fold_event(profiles.get(enriched.customer_id), enriched)
        alerts = detect_alerts(events, profiles, alert_config)
        changed = [profiles[cid] for cid in dict.fromkeys(e.customer_id for e in fresh)]
        save_profiles(changed, session=session)
        mark_processed({event_key(e): e.customer_id for e in fresh}, session=session)
        record_alerts(alerts, session=session)
    if analytics is not None and events:
        now = datetime.now(UTC)
        write_events(analytics, [event_row(e, ingested_at=now) for e in events])
    return BatchOutcome(applied=tuple(fresh), profiles=tuple(changed), alerts=tuple(alerts))
