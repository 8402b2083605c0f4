"""Importing a CRM file's records into the platform database: the records, their identity links, the
profiles of the CRM's customers and their segment membership.

Three steps, each idempotent, so an import interrupted at any point is completed by running it again:
(1) store the records (``crm_records``); (2) apply the rows' identity links through the identity service
(merges, which overlay the records on every profile they recompute and re-decide its segments); (3) in transactions of
``REFRESH_CHUNK`` records, give every CRM id an identity (a CRM-only customer gets a profile), overlay the
records on its customer's profile, save the profiles that changed and re-decide every saved segment for
them. Importing the same file again changes nothing; a changed file changes the attributes (and what
follows from them: lifecycle, segment membership) and nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from analytics.client import AnalyticsClient
from analytics.erasure import AnalyticsSubject, exclude_person
from profile_store.consents import allows
from profile_store.contracts import CrmRecord, LinkSignal
from profile_store.crm_import import CrmImport
from profile_store.crm_records import crm_only_profiles, overlay_crm, save_crm_records
from profile_store.identity_graph import new_customer_id
from profile_store.identity_repository import (
    customers_of,
    identities_of,
    lock_customers_of,
    register_identities,
)
from profile_store.privacy import PrivacyKey, suppressed
from profile_store.repository import load_profiles, lock_customers, save_profiles
from profile_store.segments.membership import apply_batch_memberships, changes_caused_by
from sqlkit import locked_transaction
from streams.identity_service import apply_link_signals, signal_cause
from streams.steps.profile import with_identities

REFRESH_CHUNK = 1000
"""Records whose profiles are refreshed per transaction (bounds locks and memory for a file of any size)."""


@dataclass(frozen=True)
class CrmImportResult:
    """What an import did: records stored new or changed, links stated, customers merged, profiles
    created (CRM-only customers) and changed (created ones included), segment entries and exits."""

    records_changed: int
    links: int
    merges: int
    profiles_created: int
    profiles_changed: int
    segment_changes: int
    suppressed: int = 0
    """Records of erased people (their ``crm:`` key or a key they link is on the suppression list) and link
    signals naming one: dropped, so an import cannot bring them back (``profile_store.privacy``)."""


def import_crm(imported: CrmImport, *, source: str, at: datetime, session_factory: sessionmaker[Session],
               privacy: PrivacyKey | None = None) -> CrmImportResult:
    """Blocks; idempotent (see the module). ``at`` is the import's time: a new record's first import,
    and with ``source`` (the file's name) the cause of the segment changes it makes
    (``crm_import:<source>@<at>``). With ``privacy`` (the command always passes it), erased people's
    records and links are dropped first. Raises on database errors (the transaction that failed changed
    nothing; running the import again completes it)."""
    imported, suppressed_count = _without_erased(imported, privacy, session_factory)
    records = imported.records
    changed = locked_transaction(session_factory, lambda s: save_crm_records(
        records, at=at, columns=imported.columns, session=s))
    # the identity service re-decides segments for the customers its merges change or delete, and returns
    # every change its signals ever caused: those of an earlier import of the same links are not this one's
    with session_factory() as session:
        earlier = {c.change_id for c in changes_caused_by([signal_cause(s) for s in imported.signals], session=session)}
    linked = apply_link_signals(imported.signals, session_factory=session_factory)
    cause = f"crm_import:{source}@{at.isoformat()}"[:600]
    entries = sum(1 for change in linked.segment_changes if change.change_id not in earlier)
    created, saved, moves = 0, len(set(linked.profiles)), 0
    for start in range(0, len(records), REFRESH_CHUNK):
        chunk = records[start:start + REFRESH_CHUNK]

        def refresh(session: Session, chunk: Sequence[CrmRecord] = chunk) -> tuple[int, int, int]:
            new, touched = _refresh_profiles(chunk, session)
            # no event time: the segments' clocks stay (an import is no event)
            moves = apply_batch_memberships(dict.fromkeys(sorted(touched), cause), None, [cause], session=session)
            return new, len(touched), len(moves)  # moves: every change of this import so far

        new, touched, moves = locked_transaction(session_factory, refresh)
        created, saved = created + new, saved + touched
    return CrmImportResult(records_changed=len(changed), links=len(imported.signals),
                           merges=sum(1 for record in linked.history if record.kind == "merge"),
                           profiles_created=created, profiles_changed=saved,
                           segment_changes=entries + moves, suppressed=suppressed_count)


def _without_erased(imported: CrmImport, privacy: PrivacyKey | None,
                    session_factory: sessionmaker[Session]) -> tuple[CrmImport, int]:
    """``imported`` without the records and link signals that name an erased identity, and how many went."""
    if privacy is None:
        return imported, 0

    def record_keys(record: CrmRecord) -> set[str]:
        return {f"crm:{record.crm_id}", *record.identities}

    def signal_keys(signal: LinkSignal) -> set[str]:
        return {signal.link.a, signal.link.b} if signal.link else {signal.identity} if signal.identity else set()

    keys = {key for r in imported.records for key in record_keys(r)} | {k for s in imported.signals for k in signal_keys(s)}
    with session_factory() as session:
        erased = suppressed(keys, privacy, session=session)
    if not erased:
        return imported, 0
    records = tuple(r for r in imported.records if not erased & record_keys(r))
    signals = tuple(s for s in imported.signals if not erased & signal_keys(s))
    kept = {r.crm_id for r in records}
    columns = {crm_id: cols for crm_id, cols in imported.columns.items() if crm_id in kept}
    return (replace(imported, records=records, signals=signals, columns=columns),
            len(imported.records) - len(records) + len(imported.signals) - len(signals))


def _refresh_profiles(records: Sequence[CrmRecord], session: Session) -> tuple[int, set[str]]:
    """Register each record's ``crm:`` key (under its own customer id when new), overlay the records on
    their customers' profiles (creating CRM-only ones) and save those that changed; returns how many were
    created and the ids of the saved ones."""
    keys = [f"crm:{record.crm_id}" for record in records]
    if not keys:
        return 0, set()
    lock_customers_of(keys, session=session)
    register_identities([{"identity_key": key, "customer_id": new_customer_id(key), "handle_key": None,
                          "first_seen": None} for key in keys], session=session)
    customers = set(customers_of(keys, session=session).values())
    lock_customers(customers, session=session)
    current = load_profiles(customers, session=session)
    members = identities_of(customers, session=session)
    overlaid = overlay_crm([with_identities(current[c], members[c]) for c in sorted(current)], session=session)
    created = crm_only_profiles({c: members[c] for c in sorted(customers - current.keys())}, session=session)
    saved = [p for p in overlaid if p != current[p.customer_id]] + created
    save_profiles(saved, session=session)
    return len(created), {p.customer_id for p in saved}


def exclude_withdrawn(imported: CrmImport, *, session_factory: sessionmaker[Session],
                      analytics: AnalyticsClient) -> int:
    """Remove from ClickHouse every customer of ``imported`` whose effective consent now withdraws analytics
    (a CRM row saying ``consent_analytics=no``): what the analytics writer no longer writes, gone from what
    it wrote before (``analytics.erasure.exclude_person``). Returns how many customers. Blocks; idempotent."""
    keys = [f"crm:{record.crm_id}" for record in imported.records if record.consent.analytics is False]
    if not keys:
        return 0
    with session_factory() as session:
        customers = sorted(set(customers_of(keys, session=session).values()))
        profiles = load_profiles(customers, session=session)
        withdrawn = {cid: identities_of([cid], session=session).get(cid, []) for cid, profile in profiles.items()
                     if not allows(profile.consent, "analytics")}
    for customer_id, identities in withdrawn.items():
        exclude_person(analytics, AnalyticsSubject(identity_keys=tuple(identities), customer_ids=(customer_id,)))
    return len(withdrawn)
