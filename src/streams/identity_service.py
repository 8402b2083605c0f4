"""The identity service: applies link / unlink signals to the identity graph, in order, in one
transaction, and recomputes the customers they touch.

Runs on a single consumer (``scrm.identity.links`` has one partition; the embedded runtime calls it on
its processing thread), so graph changes are serialised. A link that joins two customers merges them
into the one with the earliest-seen identity: the survivor's profile is recomputed from both customers'
events, the other is deleted (a tombstone on ``scrm.profiles``) and its id redirects. An unlink splits the
component and recomputes every part from its own events, so each gets back exactly the profile (and id)
it would have had without the link.

Most links a stream states attach a linking key seen for the first time (an e-mail, phone or WeChat
unionid from a connector's hints) to an account that has acted. Such a link changes no customer id and
no event's owner, so a batch of them is applied with a handful of
statements (``_attach_new_keys``) instead of a merge each, with the same outcome as ``_link``.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from analytics.client import AnalyticsClient
from analytics.erasure import AnalyticsSubject, exclude_person
from analytics.writer import write_identity_changes, write_profiles
from profile_store.consents import allows
from profile_store.contracts import CustomerProfile, IdentityLink, LinkSignal, MergeRecord
from profile_store.crm_records import crm_only_profiles, overlay_crm
from profile_store.identity_graph import components, elect_customer_id, new_customer_id
from profile_store.identity_keys import is_platform_key
from profile_store.identity_repository import (
    active_link_ids,
    active_links_touching,
    add_link,
    assign,
    attach_linking_keys,
    clear_redirects,
    customers_of,
    first_seen_of,
    identities_of,
    lock_customers_of,
    record_merges,
    register_identities,
    remove_link,
    set_redirects,
)
from profile_store.privacy import PrivacyKey, suppressed
from profile_store.repository import (
    centrality_of,
    delete_profiles,
    events_of_identities,
    load_profiles,
    lock_customers,
    save_profiles,
)
from profile_store.segments.membership import SegmentChange, apply_batch_memberships
from sqlkit import locked_transaction
from streams.contracts import EnrichedEvent
from streams.steps.analytics import event_identities, profile_row
from streams.steps.profile import build_profile, with_identities


@dataclass
class IdentityChanges:
    """What a batch of signals changed: new assignments, recomputed profiles, deleted customer ids and their
    redirects (``old id -> survivor``; ``None``: the id exists again and has no redirect)."""

    assignments: dict[str, str] = field(default_factory=dict)
    profiles: dict[str, CustomerProfile] = field(default_factory=dict)
    tombstones: set[str] = field(default_factory=set)
    history: list[MergeRecord] = field(default_factory=list)
    redirects: dict[str, str | None] = field(default_factory=dict)
    causes: dict[str, str] = field(default_factory=dict)
    """customer id -> the signal that last changed or deleted it (``signal_cause``): what segments name."""
    segment_changes: list[SegmentChange] = field(default_factory=list)
    """The segment entries and exits the signals caused (merged-away customers leave every segment; the
    survivor and split parts are re-decided), made now or by an earlier attempt at the same signals."""
    suppressed: int = 0
    """Signals naming an erased identity, dropped."""


def signal_cause(signal: LinkSignal) -> str:
    """The cause a segment change names for an identity signal: ``link:<id>``, ``unlink:<id>`` or
    ``reelect:<identity>@<time>`` (the same for a replayed signal, so its changes are found again)."""
    if signal.op == "link" and signal.link is not None:
        return f"link:{signal.link.link_id}"
    if signal.op == "unlink":
        return f"unlink:{signal.link_id}"
    return f"reelect:{signal.identity}@{signal.at.isoformat()}"


def apply_link_signals(
    signals: Sequence[LinkSignal], *, session_factory: sessionmaker[Session], analytics: AnalyticsClient | None = None,
    privacy: PrivacyKey | None = None,
) -> IdentityChanges:
    """Blocks. Idempotent: an active link added again, or a removed link removed again, changes nothing.
    With ``analytics``, the changes reach ClickHouse (identities, redirects, profiles) inside the
    transaction, before it commits: a failed write rolls the batch back to be applied again, where a write
    after the commit would be lost (a replayed signal changes nothing, so would write nothing). Raises on
    database or ClickHouse errors (then nothing is applied). With ``privacy`` (the lane passes it), a signal
    naming an erased identity is dropped (``IdentityChanges.suppressed``) before anything is locked or read.
    """
    batch = list(signals)

    def names(signal: LinkSignal) -> tuple[str, ...]:
        return (signal.link.a, signal.link.b) if signal.link else (signal.identity,) if signal.identity else ()

    def transaction(session: Session) -> IdentityChanges:
        erased = set() if privacy is None else suppressed({k for s in batch for k in names(s)}, privacy,
                                                            session=session)
        signals = [s for s in batch if not erased.intersection(names(s))]
        named = {key for s in signals for key in names(s)}
        # every customer the signals name, in the one round that may wait: taken one signal at a time, each
        # new customer would be a later round that, while an applier holds it, rolls the batch back
        lock_customers_of(named, session=session)
        changes = IdentityChanges()
        unlinked = {s.link_id for s in signals if s.op == "unlink" and s.link_id}
        known = active_link_ids((s.link.link_id for s in signals if s.link is not None), session=session) - unlinked
        attached = _attach_new_keys(signals, known | unlinked, session, changes)
        for signal in signals:
            before = dict(changes.profiles), set(changes.tombstones)
            if signal.op == "link" and signal.link is not None:
                if signal.link.link_id in known or signal.link.link_id in attached:
                    continue
                _link(signal.link, session, changes)
            elif signal.op == "unlink" and signal.link_id:
                _unlink(signal, session, changes)
            elif signal.op == "reelect" and signal.identity:
                _reelect(signal.identity, signal.at, session, changes)
            _note_cause(signal_cause(signal), before, changes)
        changes.segment_changes = apply_batch_memberships(
            changes.causes, None, [signal_cause(s) for s in signals], session=session)
        if analytics is not None:
            _write_analytics(analytics, changes)
        changes.suppressed = len(batch) - len(signals)
        return changes

    return locked_transaction(session_factory, transaction)


def _note_cause(cause: str, before: tuple[dict[str, CustomerProfile], set[str]], changes: IdentityChanges) -> None:
    """Name ``cause`` for every customer the signal just recomputed (a new profile object) or deleted."""
    profiles, tombstones = before
    for customer_id, profile in changes.profiles.items():
        if profiles.get(customer_id) is not profile:
            changes.causes[customer_id] = cause
    for customer_id in changes.tombstones - tombstones:
        changes.causes[customer_id] = cause


def _attach_new_keys(
    signals: Sequence[LinkSignal], skip: set[str], session: Session, changes: IdentityChanges
) -> set[str]:
    """Apply the batch's links that attach a never-registered linking key (e-mail, phone, unionid, CRM
    id: it never acts, so no event can race to register it) to an acting account whose customer carries
    the id its identities elect; returns their link ids. A new key must occur in no other signal of the
    batch, and the account in no signal but such links, so applying them first commutes with the rest.
    Same outcome as ``_link`` for each: the new key joins the account's customer and profile (a key that
    never acted cannot change the election); no customer id changes, nothing is merged."""
    links = [s.link for s in signals if s.op == "link" and s.link is not None and s.link.link_id not in skip]
    mentions = Counter(key for link in links for key in (link.a, link.b))
    mentions.update(s.identity for s in signals if s.op == "reelect" and s.identity)
    customers = customers_of({key for link in links for key in (link.a, link.b)}, session=session)
    candidates: dict[str, tuple[IdentityLink, str, str]] = {}  # link id -> (link, account, new key)
    for link in links:
        for account, new_key in ((link.a, link.b), (link.b, link.a)):
            if (mentions[new_key] == 1 and not is_platform_key(new_key) and new_key not in customers
                    and account in customers):
                candidates[link.link_id] = (link, account, new_key)
    per_account = Counter(account for _, account, _ in candidates.values())
    # an account qualifies when every signal naming it is one of its candidate links
    candidates = {lid: c for lid, c in candidates.items() if per_account[c[1]] == mentions[c[1]]}
    if not candidates:
        return set()
    owners = {customers[account] for _, account, _ in candidates.values()}
    lock_customers(owners, session=session)  # before reading first activity (see ``_recompute``)
    members = identities_of(owners, session=session)
    first_seen = first_seen_of((key for keys in members.values() for key in keys), session=session)
    named = {c for c, keys in members.items() if keys and elect_customer_id(keys, first_seen) == c}
    attach = {lid: (link, account, new_key) for lid, (link, account, new_key) in candidates.items()
              if customers[account] in named and first_seen.get(account) is not None}
    if not attach:
        return set()
    owner = {new_key: customers[account] for _, account, new_key in attach.values()}
    attach_linking_keys(owner, [link for link, _, _ in attach.values()], session=session)
    profiles = load_profiles(set(owner.values()), session=session)
    for key, customer_id in owner.items():
        if customer_id in profiles:
            profiles[customer_id] = with_identities(profiles[customer_id], [key])
    profiles = {p.customer_id: p for p in overlay_crm(list(profiles.values()), session=session)}
    save_profiles(list(profiles.values()), session=session)
    changes.assignments.update(owner)
    changes.profiles.update(profiles)
    for link, account, _ in attach.values():
        changes.causes.setdefault(customers[account], f"link:{link.link_id}")
    return set(attach)


def _link(link: IdentityLink, session: Session, changes: IdentityChanges) -> None:
    # customer locks before identity rows, the order apply transactions take them in
    lock_customers_of([link.a, link.b], session=session)
    register_identities(
        [{"identity_key": key, "customer_id": new_customer_id(key), "handle_key": None, "first_seen": None} for key in (link.a, link.b)],
        session=session,
    )
    if not add_link(link, session=session):
        return
    before = set(load_profiles(customers_of([link.a, link.b], session=session).values(), session=session))
    survivor = _recompute(_component_of(link.a, session), session, changes, growing=True)
    merges = [
        MergeRecord(kind="merge", survivor=survivor, other=other, link_id=link.link_id,
                    provenance=link.provenance, at=link.created_at)
        for other in sorted(before - {survivor})
    ]
    record_merges(merges, session=session)
    changes.history.extend(merges)


def _unlink(signal: LinkSignal, session: Session, changes: IdentityChanges) -> None:
    assert signal.link_id is not None
    link = remove_link(signal.link_id, at=signal.at, by=signal.requested_by, session=session)
    if link is None:
        return
    parts = {_component_of(link.a, session), _component_of(link.b, session)}
    ids = [_recompute(part, session, changes) for part in sorted(parts, key=min)]
    if len(set(ids)) == 2 and all(customer_id in changes.profiles for customer_id in ids):
        split = MergeRecord(kind="split", survivor=ids[0], other=ids[1], link_id=link.link_id,
                            provenance=link.provenance, at=signal.at)
        record_merges([split], session=session)
        changes.history.append(split)


def _reelect(identity: str, at: datetime, session: Session, changes: IdentityChanges) -> None:
    """Give ``identity``'s component the id its identities' first activity elects now (no-op when it
    already has it, or the identity is unknown)."""
    before = customers_of([identity], session=session).get(identity)
    if before is None:
        return
    after = _recompute(_component_of(identity, session), session, changes)
    if after != before:
        record = MergeRecord(kind="reelect", survivor=after, other=before, at=at)
        record_merges([record], session=session)
        changes.history.append(record)


def _component_of(start: str, session: Session) -> frozenset[str]:
    """Breadth-first over active links from ``start``."""
    seen, frontier, links = {start}, {start}, []
    while frontier:
        found = active_links_touching(frontier, session=session)
        links.extend(found)
        frontier = {end for link in found for end in (link.a, link.b)} - seen
        seen |= frontier
    return next(c for c in components(seen, links) if start in c)


def _recompute(component: frozenset[str], session: Session, changes: IdentityChanges, *, growing: bool = False) -> str:
    """Assign the component to its elected customer and rebuild that profile from the component's events;
    customers left without identities are deleted and redirected. Returns the customer id.

    ``growing`` (a link only adds identities): when every identity that moves has never acted, the
    rebuilt profile would equal the current one but for its identity list, so only that is updated."""
    # lock every customer the component can end up with or leave before reading first activity: an apply
    # transaction registering an account's first event holds its customer's lock until it commits
    lock_customers_of(component, session=session)
    previous = customers_of(component, session=session)
    first_seen = first_seen_of(component, session=session)
    customer_id = elect_customer_id(component, first_seen)
    touched = set(previous.values()) | {customer_id}
    moved = {key: customer_id for key, old in previous.items() if old != customer_id}
    assign(moved, session=session)
    changes.assignments.update(moved)
    clear_redirects([customer_id], session=session)
    changes.redirects[customer_id] = None
    changes.tombstones.discard(customer_id)
    current = load_profiles([customer_id], session=session).get(customer_id)
    if growing and current is not None and all(first_seen.get(key) is None for key in moved):
        profile: CustomerProfile | None = with_identities(current, component)
    else:
        events = [EnrichedEvent.model_validate(data) for data in events_of_identities(component, session=session)]
        centrality = centrality_of([customer_id], session=session).get(customer_id, 0.0)
        profile = build_profile(customer_id, component, events, centrality=centrality)
    if profile is None:
        profile = next(iter(crm_only_profiles({customer_id: sorted(component)}, session=session)), None)
    else:
        profile = overlay_crm([profile], session=session)[0]
    if profile is not None:
        save_profiles([profile], session=session)
        changes.profiles[customer_id] = profile
    remaining = identities_of(touched - {customer_id}, session=session)
    emptied = [old for old, keys in remaining.items() if not keys]
    delete_profiles(emptied, session=session)
    set_redirects({old: customer_id for old in emptied}, session=session)
    for old in emptied:
        changes.redirects[old] = customer_id
        changes.tombstones.add(old)
        changes.profiles.pop(old, None)
    return customer_id


def _write_analytics(client: AnalyticsClient, changes: IdentityChanges) -> None:
    """The changes in ClickHouse; a customer who withdrew analytics consent is not written, and what the
    identities they just gained left there is removed (``analytics.erasure.exclude_person``: idempotent)."""
    version = time.time_ns()
    write_identity_changes(client, assignments=event_identities(changes.assignments), redirects=changes.redirects,
                           version=version)
    withdrawn = [p for p in changes.profiles.values() if not allows(p.consent, "analytics")]
    write_profiles(client, [profile_row(p, version=version) for p in changes.profiles.values()
                            if allows(p.consent, "analytics")], deleted=changes.tombstones, version=version)
    for profile in withdrawn:
        exclude_person(client, AnalyticsSubject(identity_keys=profile.identities, customer_ids=(profile.customer_id,)))


def lookup_assignments(identity_keys: Sequence[str], *, session_factory: sessionmaker[Session]) -> dict[str, str]:
    """The current ``identity_key -> customer_id`` of known identities (routing hint for enriched events;
    the apply step re-reads it under lock). Blocks."""
    with session_factory() as session:
        return customers_of(identity_keys, session=session)
