"""Apply a batch of enriched events to durable state: profiles and analytics (alerts: ``streams
.alert_batch``, in a transaction of their own).

Shared by both runtimes. One database transaction stores the unseen events (the idempotency ledger) and
folds them into their customers' profiles (``streams.profile_apply``); only after it commits does the
caller acknowledge its input. A replayed batch finds every event stored and changes nothing; the analytics
writer inserts only events not stored yet, so re-writing them is harmless.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from analytics.client import AnalyticsClient
from analytics.writer import write_events, write_profiles
from ingest.contracts import SocialEvent
from profile_store.consents import allows
from profile_store.contracts import CustomerProfile, LinkSignal
from profile_store.identity_keys import linking_keys, without_keys
from profile_store.privacy import PrivacyKey, suppressed
from profile_store.profile_cache import ProfileCache
from profile_store.segments.membership import SegmentChange, apply_batch_memberships
from sqlkit import locked_transaction
from streams.contracts import EnrichedEvent
from streams.profile_apply import ProfileUpdate, apply_profiles
from streams.steps.analytics import event_row, profile_row


@dataclass(frozen=True)
class BatchOutcome:
    """What a batch did: how many distinct events it held (``seen``), the events that were new, the profiles they changed, the linking keys it
    attached to their account's customer (``assignments``, for ``scrm.identity.assignments``) and the
    identity signals to publish on ``scrm.identity.links``: the links the batch's identity hints state
    that are neither active nor attached by it (for replayed events too; links are idempotent) and
    re-elections."""

    seen: int
    applied: tuple[EnrichedEvent, ...]
    profiles: tuple[CustomerProfile, ...]
    assignments: dict[str, str]
    identity_signals: tuple[LinkSignal, ...]
    segment_changes: tuple[SegmentChange, ...] = ()
    """The segment entries and exits the batch's events caused (``profile_store.segments.membership``):
    made now, or by an earlier attempt at the same events that may not have published them."""
    suppressed: int = 0
    """Events of erased people the batch dropped (checked inside its transaction, see ``apply_enriched_batch``)."""


def apply_enriched_batch(
    events: Sequence[EnrichedEvent],
    *,
    session_factory: sessionmaker[Session],
    analytics: AnalyticsClient | None,
    privacy: PrivacyKey | None = None,
    profile_cache: ProfileCache | None = None,
    not_customer: Callable[[SocialEvent], bool] | None = None,
) -> BatchOutcome:
    """Blocks. Idempotent by ``<platform>:<event_id>``: only unseen events are folded. Analytics rows are
    written for every event of the batch (replayed ones too), because a worker killed after the commit but
    before writing them must write them on replay; the writer skips those stored already
    (``analytics.writer``). The batch's current profiles reach ClickHouse inside the transaction (a replay
    writes them again, so a write lost to a crash is repeated). Neither the events nor the profile of a
    customer who withdrew analytics consent are written (``profile_store.consents``). Raises on
    database errors (then nothing is applied). ``profile_cache``: the caller's, kept across batches (see
    ``ProfileCache``). ``not_customer``: picks the brands' own accounts, which build no profile
    (``apply_profiles``). Events by an erased author (or routed to an erased customer) are dropped: the
    transaction's first statement reads the suppression list, so an erasure running meanwhile either
    finished before it (and is seen) or waits for it (``profile_store.privacy.suppressed``). The lanes always
    pass ``privacy``; without it (tools and tests applying events no erasure concerns) nothing is checked."""
    dropped = 0

    def transaction(session: Session) -> tuple[ProfileUpdate, list[SegmentChange]]:
        nonlocal dropped
        named = {key for e in events for key in (e.event.identity_key, e.customer_id, *linking_keys(e.event.identity_hints))}
        erased = set() if privacy is None else suppressed(named, privacy, session=session)
        kept = [_without_erased_hints(e, erased) for e in events
                if e.event.identity_key not in erased and e.customer_id not in erased]
        dropped = len(events) - len(kept)
        applied = apply_profiles(kept, session=session, cache=profile_cache, not_customer=not_customer)
        if analytics is not None:  # under the customers' locks, so profile versions follow the database's order
            version = time.time_ns()
            write_profiles(analytics, [profile_row(p, version=version) for p in applied.profiles.values()
                                       if allows(p.consent, "analytics")], version=version)
        changed = set(applied.changed)
        causes = {e.customer_id: e.event.event_key for e in applied.fresh if e.customer_id in changed}
        newest = max((e.event.occurred_at_utc for e in applied.events), default=None)
        return applied, apply_batch_memberships(causes, newest, [e.event.event_key for e in applied.events],
                                                session=session)

    update, segment_changes = locked_transaction(session_factory, transaction)
    if analytics is not None and update.events:
        now = datetime.now(UTC)
        withdrawn = {cid for cid, p in update.profiles.items() if not allows(p.consent, "analytics")}
        write_events(analytics, [event_row(e, ingested_at=now) for e in update.events if e.customer_id not in withdrawn])
    now = datetime.now(UTC)
    links = (LinkSignal(op="link", link=link, at=now) for link in update.unapplied_links)
    reelect = (LinkSignal(op="reelect", identity=key, requested_by="profile-apply", at=now) for key in update.reelect)
    changed = tuple(update.profiles[cid] for cid in update.changed)
    return BatchOutcome(seen=len(update.events), applied=update.fresh, profiles=changed, assignments=update.assignments,
                        identity_signals=(*links, *reelect), segment_changes=tuple(segment_changes),
                        suppressed=dropped)


def _without_erased_hints(event: EnrichedEvent, erased: set[str]) -> EnrichedEvent:
    """``event`` without the identity hints that name an erased identity (they must not link or attach it)."""
    if not erased:
        return event
    hints = without_keys(event.event.identity_hints, erased)
    if hints is event.event.identity_hints:
        return event
    return event.model_copy(update={"event": event.event.model_copy(update={"identity_hints": hints})})
