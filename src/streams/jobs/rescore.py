"""Re-scoring stored events with a new model (``scrm rescore``): history scored by an older model is scored
again, and everything derived from the scores follows.

A pass goes through the stored events of a time range (``profile_events``, by event key) in pages. It
re-enriches each page's texts with the new enricher, skipping events its model already scored. That skip
makes the pass idempotent and an interrupted one resumable. Each event keeps its customer, source mark and
everything else; only ``enrichment`` changes, stamped with the new model.

Per page, in one transaction under the customers' locks (``profile_store.repository.lock_customers``, as the
apply lane takes them), the pass writes the payloads back and rebuilds the customers' profiles from their
stored events: sentiment counts, EWMA, lifecycle and intents follow the new scores. It then writes the new
ClickHouse rows (``analytics.rescore.replace_events``: the newer row wins under ``FINAL``) and the rebuilt
profiles. At the end it recomputes the rollups of the re-scored hours, so they count every event once,
with its new score.

Alerts already raised stay as they were (an incident is a record of what was seen then), and the
detectors' state is not replayed. Blocks; raises database, model and ClickHouse errors (what committed
stays; running the pass again completes it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from analytics.client import AnalyticsClient
from analytics.rescore import rebuild_rollups, replace_events
from analytics.writer import write_profiles
from enrichment.contracts import ModelStamp
from enrichment.protocols import Enricher
from profile_store.consents import allows
from profile_store.contracts import CustomerProfile
from profile_store.crm_records import overlay_crm
from profile_store.identity_repository import customers_of, identities_of
from profile_store.repository import centrality_of, events_of_identities, lock_customers, save_profiles
from profile_store.rescore import count_events_between, events_page, replace_event_data
from sqlkit import locked_transaction
from streams.contracts import EnrichedEvent
from streams.steps.analytics import event_row, profile_row
from streams.steps.profile import build_profile

PAGE = 500
"""Events per page (one model batch, one transaction)."""


@dataclass(frozen=True)
class RescoreResult:
    """What a pass did: events looked at, re-scored (the rest already had the new model's scores),
    profiles rebuilt, and the event-time range of what changed (``None`` when nothing did)."""

    model: ModelStamp
    seen: int = 0
    rescored: int = 0
    profiles: int = 0
    since: datetime | None = None
    until: datetime | None = None


def count_rescorable(session_factory: sessionmaker[Session], *, since: datetime | None,
                     until: datetime | None) -> int:
    """How many stored events a pass over the range looks at (for a progress bar). Blocks."""
    with session_factory() as session:
        return count_events_between(since=since, until=until, session=session)


def rescore(session_factory: sessionmaker[Session], analytics: AnalyticsClient | None, enricher: Enricher, *,
            since: datetime | None = None, until: datetime | None = None, dry_run: bool = False,
            progress: Callable[[int], None] | None = None, page: int = PAGE) -> RescoreResult:
    """Re-score the stored events with ``since <= occurred_at <= until`` that ``enricher``'s model did not
    score; ``dry_run`` counts them and changes nothing. ``progress`` is called with each page's size. Blocks."""
    stamp = enricher.stamp
    seen = rescored = rebuilt = 0
    first: datetime | None = None
    last: datetime | None = None
    after: str | None = None
    while True:
        with session_factory() as session:
            rows = events_page(since=since, until=until, after=after, limit=page, session=session)
        if not rows:
            break
        after = rows[-1][0]
        seen += len(rows)
        stale = [EnrichedEvent.model_validate(data) for _, _, data in rows]
        stale = [event for event in stale if event.enrichment.model != stamp]
        if stale and not dry_run:
            fresh = _rescored(stale, enricher)
            rebuilt += _store(session_factory, analytics, fresh)
        if stale:
            rescored += len(stale)
            times = [event.event.occurred_at_utc for event in stale]
            first = min([*times, *([first] if first else [])])
            last = max([*times, *([last] if last else [])])
        if progress is not None:
            progress(len(rows))
    if analytics is not None and not dry_run and first is not None and last is not None:
        rebuild_rollups(analytics, since=first, until=last)
    return RescoreResult(model=stamp, seen=seen, rescored=rescored, profiles=rebuilt, since=first, until=last)


def _rescored(events: list[EnrichedEvent], enricher: Enricher) -> list[EnrichedEvent]:
    results = enricher.enrich([event.event.text or "" for event in events])
    if len(results) != len(events):
        raise RuntimeError(f"enricher returned {len(results)} results for {len(events)} texts")
    return [event.model_copy(update={"enrichment": result}) for event, result in zip(events, results, strict=True)]


def _store(session_factory: sessionmaker[Session], analytics: AnalyticsClient | None,
           events: list[EnrichedEvent]) -> int:
    """Write back a page's re-scored events and rebuild their customers' profiles (one transaction), then
    their ClickHouse rows (not those of customers who withdrew analytics consent); returns how many profiles
    were rebuilt."""
    owners: dict[str, str] = {}

    def transaction(session: Session) -> list[CustomerProfile]:
        keys = {event.event.identity_key for event in events}
        lock_customers(set(customers_of(keys, session=session).values()), session=session)
        owners.clear()
        owners.update(customers_of(keys, session=session))  # again, under the locks
        customers = sorted(set(owners.values()))
        lock_customers(customers, session=session)  # a merge in between moved one: lock its new customer too
        replace_event_data({event.event.event_key: event.model_dump_json() for event in events}, session=session)
        identities = identities_of(customers, session=session)
        centrality = centrality_of(customers, session=session)
        profiles = []
        for customer_id, owned in identities.items():
            stored = [EnrichedEvent.model_validate(data) for data in events_of_identities(owned, session=session)]
            profile = build_profile(customer_id, owned, stored, centrality=centrality.get(customer_id, 0.0))
            if profile is not None:
                profiles.append(profile)
        profiles = overlay_crm(profiles, session=session)
        save_profiles(profiles, session=session)
        if analytics is not None:  # under the customers' locks, so profile versions follow the database's order
            version = time.time_ns()
            write_profiles(analytics, [profile_row(p, version=version) for p in profiles
                                       if allows(p.consent, "analytics")], version=version)
        return profiles

    profiles = locked_transaction(session_factory, transaction)
    if analytics is not None:  # nothing of a customer who withdrew analytics consent goes to ClickHouse
        now = datetime.now(UTC)
        analysed = {p.customer_id for p in profiles if allows(p.consent, "analytics")}
        replace_events(analytics, [event_row(event, ingested_at=now) for event in events
                                   if owners.get(event.event.identity_key) in analysed])
    return len(profiles)
