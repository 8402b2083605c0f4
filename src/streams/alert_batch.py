"""Raise the alerts of a batch of enriched events: its own transaction, apart from the profiles.

Shared by both runtimes. The Kafka runtime runs it in the ``alert`` lane, beside the ``apply`` lane on the
same ``scrm.events.enriched``, so an alert waits for enrichment and the detectors only, never for a profile
batch (the apply lane's large batches took 1-3 s at 1,000 events/s). The embedded runtime runs it right
after applying the batch.

One transaction enters the events in the detectors' ledger (``alerts.repository.claim_events``), moves
detector state with the fresh ones, folds their alerts into incidents and writes the delivery outbox; only
after it commits does the caller acknowledge its input. Events entered before (a replay) move nothing and
get their stored alerts back, with the same ids, to publish again.

Authors are judged by the standing their earlier posts gave them, from the alert lane's own fold of each
author (``streams.steps.alert.judge_posts``, stored beside the profiles), never by the apply lane's
progress: both runtimes, and a replay, judge every post alike (the detectors also read the author's
followers and verification from the event itself).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from alerts.config import AlertingConfig
from alerts.contracts import Alert
from alerts.pipeline import process_posts
from alerts.repository import claim_events
from profile_store.privacy import PrivacyKey, suppressed
from profile_store.repository import centrality_of, load_author_folds, save_author_folds, survivors_of
from sqlkit import locked_transaction
from streams.contracts import EnrichedEvent
from streams.steps.alert import judge_posts


@dataclass(frozen=True)
class AlertOutcome:
    """``fresh``: keys (``SocialEvent.event_key``) of the events the detectors had not seen; ``alerts``:
    the alerts of the whole batch, fresh ones first, then those replayed events raised before."""

    fresh: frozenset[str]
    alerts: tuple[Alert, ...]
    suppressed: int = 0
    """Events of erased people dropped (read in the transaction, like ``unit_of_work.apply_enriched_batch``)."""

    def new_alerts(self) -> list[Alert]:
        """The alerts raised by this batch's fresh events (not re-published ones)."""
        return [a for a in self.alerts if a.event_key in self.fresh]


def alert_enriched_batch(
    events: Sequence[EnrichedEvent],
    *,
    session_factory: sessionmaker[Session],
    config: AlertingConfig,
    progress: tuple[Mapping[str, datetime], int] | None = None,
    privacy: PrivacyKey | None = None,
) -> AlertOutcome:
    """Blocks. Idempotent by event key (platform, author id, event id: two authors' events with one event
    id are both judged): only events never seen by the detectors move their state. ``progress``: the
    latest event time per stream position this batch read, and how many positions there are (the alert
    lane's, ``streams.steps.watermark``); without it the events are taken as one ordered stream. Raises on
    database errors (then nothing is recorded). With ``privacy`` (the lane always passes it), events of
    erased people are dropped before anything is read or written."""
    batch = {e.event.event_key: e for e in events}
    if not batch:
        return AlertOutcome(fresh=frozenset(), alerts=())
    unique: dict[str, EnrichedEvent] = {}

    def transaction(session: Session) -> tuple[set[str], list[Alert]]:
        erased = set() if privacy is None else suppressed(
            {key for e in batch.values() for key in (e.event.identity_key, e.customer_id)}, privacy, session=session)
        unique.clear()
        unique.update((k, e) for k, e in batch.items()
                      if e.event.identity_key not in erased and e.customer_id not in erased)
        fresh_keys = claim_events(unique, session=session)
        fresh = [e for key, e in unique.items() if key in fresh_keys]
        survivors = survivors_of({e.customer_id for e in fresh}, session=session)
        authors = {survivors.get(e.customer_id, e.customer_id) for e in fresh}
        posts, folds = judge_posts(fresh, load_author_folds(authors, session=session), survivors=survivors,
                                   centrality=centrality_of(authors, session=session))
        save_author_folds(list(folds.values()), session=session)
        marks, positions = progress if progress is not None else (None, 1)
        alerts = process_posts(posts, set(unique) - fresh_keys, config=config, now=datetime.now(UTC),
                               progress=marks, positions=positions, session=session)
        return fresh_keys, alerts

    fresh_keys, alerts = locked_transaction(session_factory, transaction)
    return AlertOutcome(fresh=frozenset(fresh_keys), alerts=tuple(alerts), suppressed=len(batch) - len(unique))
