"""The profile part of applying a batch: store new events, resolve each to its current customer under a
lock, and fold or recompute the customers' profiles. Runs inside the caller's transaction.

Events carry the customer id they were routed with, which a concurrent merge may have made stale: the
customer is re-read from the identity table after taking the customers' locks, so a merge racing with
events on other partitions converges to the same profile whatever the interleaving.

First sightings are settled here too: a new account is registered under its own customer id, and a
linking key its identity hints name for the first time (an e-mail, phone, WeChat unionid or CRM id no
identity has stated before) joins the account's customer in the same transaction, with its link. Such a
key never acts, so it cannot change which customer id a component elects nor which customer owns an
event: attaching it is exactly what the identity service's ``_link`` would do, without a second
transaction that waits for this one's locks and rewrites the profile it just saved. Every other stated
link (the key already belongs to a customer: a merge; or two accounts of the batch claim it) is returned
for the identity service.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from ingest.contracts import SocialEvent, post_key
from profile_store.consents import record_statements
from profile_store.contracts import CustomerProfile, IdentityLink
from profile_store.crm_records import overlay_crm
from profile_store.identity_graph import elect_customer_id, new_customer_id
from profile_store.identity_keys import is_platform_key
from profile_store.identity_repository import (
    active_link_ids,
    attach_linking_keys,
    customers_of,
    first_seen_of,
    identities_of,
    lock_customers_of,
    register_identities,
)
from profile_store.profile_cache import ProfileCache
from profile_store.repository import (
    centrality_of,
    events_of_identities,
    load_profiles,
    lock_customers,
    save_profiles,
    store_edges,
    store_events,
    unseen_event_keys,
)
from sqlkit import JsonText
from streams.contracts import EnrichedEvent
from streams.steps.consent import consent_statements
from streams.steps.links import hint_links
from streams.steps.profile import build_profile, fold_event, sort_key, with_identities

log = logging.getLogger(__name__)

_MENTION = re.compile(r"@([\w\-.]{2,64})")


@dataclass(frozen=True)
class ProfileUpdate:
    """``events``: the whole batch (deduplicated), re-stamped with current customer ids; ``fresh``: those
    not applied before; ``profiles``: current profiles of every customer in the batch; ``changed``: the
    customers whose profile this batch changed; ``reelect``: one identity of each linked customer whose
    id is no longer the one its identities' first activity elects (a link that arrived before the
    accounts acted, or an earlier event arriving late): the identity service must re-elect it;
    ``assignments``: ``linking key -> customer id`` of the keys this batch attached, and of the keys the
    replayed events' hints name (a crashed batch may not have published them); ``unapplied_links``: the
    links the batch's identity hints state that are not active yet (for replayed events too: whatever a
    crashed batch did not get applied) and were not attached here, for the identity service."""

    events: tuple[EnrichedEvent, ...]
    fresh: tuple[EnrichedEvent, ...]
    profiles: dict[str, CustomerProfile]
    changed: tuple[str, ...]
    reelect: tuple[str, ...]
    assignments: dict[str, str]
    unapplied_links: tuple[IdentityLink, ...]


def apply_profiles(
    events: Sequence[EnrichedEvent], *, session: Session, cache: ProfileCache | None = None,
    not_customer: Callable[[SocialEvent], bool] | None = None,
) -> ProfileUpdate:
    """Blocks; idempotent by event key (``SocialEvent.event_key``: platform, author id and event id, so
    two authors' events with one event id are two events). Takes per-customer locks (before storing
    anything) until the caller's transaction ends. ``cache`` spares re-validating profiles unchanged since
    the last batch. Events ``not_customer`` picks (the brands' own accounts) are stored and their accounts
    registered, but they build no profile: a brand is not its own customer, so it never appears in profile
    lists, segments, rankings or lifecycle counts. The consent the fresh events state (an unfollow's
    withdrawal, ``streams.steps.consent``) is recorded in the same transaction, before the profiles take
    their effective consent."""
    by_key = {e.event.event_key: e for e in events}
    unseen = unseen_event_keys(by_key, session=session)
    hinted = {key: hint_links(e.event) for key, e in by_key.items()}
    stated = _unapplied_hint_links(hinted, session)
    assignment, attached = _register(by_key, unseen, hinted, stated, session)
    stamped = {
        key: e if e.customer_id == assignment[e.event.identity_key]
        else e.model_copy(update={"customer_id": assignment[e.event.identity_key]})
        for key, e in by_key.items()
    }
    fresh_stamped = [e for key, e in stamped.items() if key in unseen]
    by_customer: dict[str, list[EnrichedEvent]] = {}
    for enriched in fresh_stamped:
        if not_customer is None or not not_customer(enriched.event):
            by_customer.setdefault(enriched.customer_id, []).append(enriched)
    profiles = load_profiles({e.customer_id for e in stamped.values()}, session=session, cache=cache)
    changed = tuple(by_customer)
    updated = _updated_profiles(by_customer, profiles, attached, session)
    record_statements(consent_statements(fresh_stamped), session=session)  # before the overlay reads them
    profiles.update((p.customer_id, p) for p in overlay_crm([updated[cid] for cid in changed], session=session))
    save_profiles([profiles[cid] for cid in changed], session=session, cache=cache)
    return ProfileUpdate(
        events=tuple(stamped.values()),
        fresh=tuple(fresh_stamped),
        profiles=profiles,
        changed=changed,
        reelect=_misnamed(set(assignment.values()), session),
        assignments=_replayed_assignments([links for key, links in hinted.items() if key not in unseen], session)
        | attached,
        unapplied_links=tuple(link for link in stated.values() if _linking_end(link) not in attached),
    )


def _register(
    by_key: dict[str, EnrichedEvent],
    unseen: set[str],
    hinted: dict[str, list[IdentityLink]],
    stated: dict[str, IdentityLink],
    session: Session,
) -> tuple[dict[str, str], dict[str, str]]:
    """Lock the batch's customers, register the fresh events' accounts and store the events, attach the
    never-seen linking keys; returns the authors' current ``identity key -> customer id`` (read under the
    locks) and the attached ``linking key -> customer id``. Every author of the batch ends up registered:
    one whose events are all stored already but whose account is not (a database restored from backups
    taken at different times) is registered here, with a warning, rather than left without a customer."""
    fresh = [e for key, e in by_key.items() if key in unseen]
    keys = {e.event.identity_key for e in by_key.values()}
    claims = _new_key_claims({link.link_id for key in unseen for link in hinted[key]}, stated, session)
    # lock before registering first activity: the identity service reads it under the same locks to elect
    # a component's customer id, so it must not miss an account's first event that is about to commit;
    # a claimed key's would-be customer id too, so that no other transaction registers it meanwhile
    locked = lock_customers_of(keys | set(claims), session=session)
    _store(fresh, session)
    found = customers_of(keys | set(claims), session=session)
    unregistered = keys - found.keys()
    if unregistered:
        log.warning("registering %d account(s) whose events were stored but who were not: %s",
                    len(unregistered), ", ".join(sorted(unregistered)[:5]))
        register_identities(_identity_rows(e for e in by_key.values() if e.event.identity_key in unregistered),
                            session=session)
        found |= customers_of(unregistered, session=session)
    assignment = {key: found[key] for key in keys}
    lock_customers(set(assignment.values()) - locked, session=session)
    attached = _attach({key: link for key, link in claims.items() if key not in found}, assignment, session)
    return assignment, attached


def _updated_profiles(
    by_customer: dict[str, list[EnrichedEvent]],
    profiles: dict[str, CustomerProfile],
    attached: dict[str, str],
    session: Session,
) -> dict[str, CustomerProfile]:
    """The profiles of the customers with fresh events: folded incrementally when the events extend the
    stored profile, else rebuilt from every stored event of the customer's identities."""
    gained: dict[str, list[str]] = {}
    for key, customer_id in attached.items():
        gained.setdefault(customer_id, []).append(key)
    rebuild = [cid for cid, new in by_customer.items() if not _extends(profiles.get(cid), new)]
    identities = identities_of(rebuild, session=session)  # read after attaching: lists the new keys
    centrality = centrality_of(rebuild, session=session)
    updated: dict[str, CustomerProfile] = {}
    for customer_id, new in by_customer.items():
        if customer_id not in identities:
            profile = profiles[customer_id]
            for enriched in sorted(new, key=sort_key):
                profile = fold_event(profile, enriched)
            updated[customer_id] = with_identities(profile, gained[customer_id]) if customer_id in gained else profile
            continue
        if customer_id in profiles:
            source = [EnrichedEvent.model_validate(d) for d in events_of_identities(identities[customer_id], session=session)]
        else:
            source = new
        rebuilt = build_profile(customer_id, identities[customer_id], source, centrality=centrality.get(customer_id, 0.0))
        assert rebuilt is not None, "a customer with new events has a profile"
        updated[customer_id] = rebuilt
    return updated


def _unapplied_hint_links(hinted: dict[str, list[IdentityLink]], session: Session) -> dict[str, IdentityLink]:
    """The links the events' identity hints state (``event key -> links``) that are not active, by link
    id: most hints repeat a link applied long ago (a customer's e-mail on every order). A removed link is
    stated again."""
    stated = {link.link_id: link for links in hinted.values() for link in links}
    active = active_link_ids(stated, session=session)
    return {link_id: link for link_id, link in stated.items() if link_id not in active}


def _new_key_claims(
    stated_fresh: set[str], unapplied: dict[str, IdentityLink], session: Session
) -> dict[str, IdentityLink]:
    """``linking key -> link`` for the keys that look never seen (not registered; read without locks, so
    the caller checks again under them) and that exactly one unapplied link names, stated by a fresh
    event (``stated_fresh``: link ids)."""
    naming: dict[str, list[IdentityLink]] = {}
    for link in unapplied.values():
        naming.setdefault(_linking_end(link), []).append(link)
    registered = customers_of(naming, session=session)
    return {
        key: links[0] for key, links in naming.items()
        if len(links) == 1 and links[0].link_id in stated_fresh and key not in registered
    }


def _attach(new_keys: dict[str, IdentityLink], assignment: dict[str, str], session: Session) -> dict[str, str]:
    """Register each never-seen linking key under the customer of the account its link names, and store
    the links; returns ``key -> customer id``. The caller holds the locks of the keys and the accounts."""
    owner = {key: assignment[link.a if link.b == key else link.b] for key, link in new_keys.items()}
    attach_linking_keys(owner, list(new_keys.values()), session=session)
    return owner


def _replayed_assignments(replayed: Iterable[list[IdentityLink]], session: Session) -> dict[str, str]:
    """``linking key -> customer id`` of the registered keys the replayed events' hint links name."""
    return customers_of((_linking_end(link) for links in replayed for link in links), session=session)


def _linking_end(link: IdentityLink) -> str:
    """The linking-key end of a hint link (the other end is the account that stated it)."""
    return link.b if is_platform_key(link.a) else link.a


def _misnamed(customer_ids: set[str], session: Session) -> tuple[str, ...]:
    """For each linked customer whose id differs from the one its identities now elect, one of its
    identity keys. State-based, so a replayed batch re-detects what a crashed one did not publish."""
    linked = {cid: keys for cid, keys in identities_of(customer_ids, session=session).items() if len(keys) > 1}
    first_seen = first_seen_of((key for keys in linked.values() for key in keys), session=session)
    return tuple(sorted(keys[0] for cid, keys in linked.items() if elect_customer_id(keys, first_seen) != cid))


def _extends(profile: CustomerProfile | None, new: list[EnrichedEvent]) -> bool:
    """Whether ``new`` can be folded onto ``profile`` incrementally: every new event is later than
    everything folded so far. Otherwise the profile is rebuilt: from its stored events after an
    out-of-order event; from the new events alone for a customer without a profile, who by construction
    has no folded events yet (every stored event is folded in the transaction that stores it, and a
    merge rebuilds the survivor). A profile of no events (a customer only the CRM knew) is rebuilt, so
    its first seen is its first event's time, not the import's."""
    return (profile is not None and profile.event_count > 0
            and min(e.event.occurred_at_utc for e in new) > profile.last_seen)


def _store(fresh: Sequence[EnrichedEvent], session: Session) -> None:
    """Register the authors' identities, and store the events and the interactions they show, stamped with
    the wall-clock time they are stored (what retention counts from; a replayed old event is stored now)."""
    register_identities(_identity_rows(fresh), session=session)
    now = datetime.now(UTC)
    store_events(
        [
            {"event_key": e.event.event_key, "post_key": e.event.post_key, "identity_key": e.event.identity_key,
             "occurred_at": e.event.occurred_at_utc, "thread_key": _thread_key(e), "data": JsonText(e.model_dump_json()),
             "stored_at": now}
            for e in fresh
        ],
        session=session,
    )
    store_edges([{**edge, "stored_at": now} for e in fresh for edge in _edges(e)], session=session)


def _identity_rows(events: Iterable[EnrichedEvent]) -> list[dict[str, object]]:
    """The identity rows of the events' authors (``register_identities``): each under its own new
    customer id, first seen at its earliest event here, with its handle."""
    first_seen: dict[str, datetime] = {}
    handles: dict[str, str] = {}
    for enriched in events:
        event = enriched.event
        key = event.identity_key
        first_seen[key] = min(first_seen.get(key, event.occurred_at_utc), event.occurred_at_utc)
        if event.author.handle:
            handles[key] = f"{event.platform.value}:{event.author.handle.lower()}"
    return [
        {"identity_key": key, "customer_id": new_customer_id(key), "handle_key": handles.get(key), "first_seen": seen}
        for key, seen in first_seen.items()
    ]


def _thread_key(enriched: EnrichedEvent) -> str | None:
    """The conversation an event belongs to (the ``post_key`` of its thread or parent), for co-activity."""
    event = enriched.event
    thread = event.thread_id or event.parent_id
    return post_key(event.platform.value, thread) if thread else None


def _edges(enriched: EnrichedEvent) -> list[dict[str, str | None]]:
    """The event's interactions: a reply edge to its parent's post key, one edge per mentioned handle
    (keyed ``<event key>#m<n>``: no event key ends in ``#m<n>``, so these never clash with another event's)."""
    event = enriched.event
    key = event.event_key
    source = event.identity_key
    platform = event.platform.value
    edges: list[dict[str, str | None]] = []
    if event.parent_id:
        edges.append({"event_key": key, "source_identity": source, "target_post_key": post_key(platform, event.parent_id),
                      "target_handle_key": None})
    for n, handle in enumerate(dict.fromkeys(m.lower() for m in _MENTION.findall(event.text or ""))):
        edges.append({"event_key": f"{key}#m{n}", "source_identity": source, "target_post_key": None,
                      "target_handle_key": f"{platform}:{handle}"})
    return edges
