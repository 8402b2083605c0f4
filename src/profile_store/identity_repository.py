"""Identity repository: identity assignments, redirects, links, merge history and suggestions.

Keyword-only ``session``; never commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, or_, select, update
from sqlalchemy.orm import Session

from profile_store.contracts import IdentityLink, MergeRecord, Provenance, Suggestion
from profile_store.identity_graph import new_customer_id
from profile_store.repository import lock_customers
from profile_store.suggestions import Candidate
from profile_store.tables import (
    IdentityRow,
    LinkRow,
    MergeRow,
    ProfileEventRow,
    ProfileRow,
    RedirectRow,
    SuggestionRow,
)
from sqlkit import any_of, as_aware, upsert_rows


def customers_of(identity_keys: Iterable[str], *, session: Session) -> dict[str, str]:
    """``identity_key -> customer_id`` for the keys already known."""
    keys = list(set(identity_keys))
    if not keys:
        return {}
    query = select(IdentityRow.identity_key, IdentityRow.customer_id).where(
        any_of(IdentityRow.identity_key, keys, session=session))
    rows = session.execute(query)
    return {key: value for key, value in rows}


def identities_of(customer_ids: Iterable[str], *, session: Session) -> dict[str, list[str]]:
    """``customer_id -> sorted identity keys`` currently assigned to each customer."""
    ids = list(set(customer_ids))
    result: dict[str, list[str]] = {customer_id: [] for customer_id in ids}
    if ids:
        rows = session.execute(
            select(IdentityRow.customer_id, IdentityRow.identity_key)
            .where(any_of(IdentityRow.customer_id, ids, session=session))
            .order_by(IdentityRow.identity_key)
        )
        for customer_id, key in rows:
            result[customer_id].append(key)
    return result


def lock_customers_of(identity_keys: Iterable[str], *, session: Session) -> set[str]:
    """Lock (``lock_customers``) every customer these identities belong to or would get when first
    registered (uuid5 of the key), and return their ids. Take it before writing identity rows or reading
    first activity: apply transactions and the identity service then serialise on the same customers, in
    the same order (advisory locks, then rows). Blocks."""
    keys = set(identity_keys)
    customers = set(customers_of(keys, session=session).values()) | {new_customer_id(key) for key in keys}
    lock_customers(customers, session=session)
    return customers


def first_seen_of(identity_keys: Iterable[str], *, session: Session) -> dict[str, datetime | None]:
    """When each known identity was first seen acting (``None`` for pure linking keys)."""
    keys = list(set(identity_keys))
    if not keys:
        return {}
    query = select(IdentityRow.identity_key, IdentityRow.first_seen).where(
        any_of(IdentityRow.identity_key, keys, session=session))
    rows = session.execute(query)
    return {key: value for key, value in rows}


def register_identities(rows: Sequence[dict[str, Any]], *, session: Session) -> None:
    """Insert unknown identities (``identity_key``, ``customer_id``, ``handle_key``, ``first_seen``);
    for known ones keep the assignment, take the earlier ``first_seen`` and fill a missing handle."""
    if not rows:
        return
    keys = [row["identity_key"] for row in rows]
    known = {
        key: (seen, handle)
        for key, seen, handle in session.execute(
            select(IdentityRow.identity_key, IdentityRow.first_seen, IdentityRow.handle_key)
            .where(any_of(IdentityRow.identity_key, keys, session=session))
        )
    }
    fresh = [row for row in rows if row["identity_key"] not in known]
    upsert_rows(session, IdentityRow.__table__, fresh, ["identity_key"], update=False)  # type: ignore[arg-type]
    changes = []
    for row in rows:
        if row["identity_key"] not in known:
            continue
        seen, handle = known[row["identity_key"]]
        new_seen = row.get("first_seen")
        earlier = new_seen is not None and (seen is None or as_aware(new_seen) < as_aware(seen))
        fill_handle = handle is None and row.get("handle_key")
        if earlier or fill_handle:
            changes.append({
                "key": row["identity_key"],
                "first_seen": new_seen if earlier else seen,
                "handle_key": row["handle_key"] if fill_handle else handle,
            })
    if changes:
        statement = (
            update(IdentityRow)
            .where(IdentityRow.identity_key == bindparam("key"))
            .values(first_seen=bindparam("first_seen"), handle_key=bindparam("handle_key"))
        )
        session.connection().execute(statement, changes)


def attach_linking_keys(owner: dict[str, str], links: Sequence[IdentityLink], *, session: Session) -> None:
    """Register never-registered linking keys (``key -> customer id``; keys that never act, so without
    handle or first activity) and store the links that name them. The caller holds the customers' locks."""
    register_identities(
        [{"identity_key": key, "customer_id": customer_id, "handle_key": None, "first_seen": None}
         for key, customer_id in owner.items()],
        session=session,
    )
    add_links(links, session=session)


def assign(assignments: dict[str, str], *, session: Session) -> None:
    """Point identity keys at customers (keys must be registered)."""
    for key, customer_id in assignments.items():
        session.execute(update(IdentityRow).where(IdentityRow.identity_key == key).values(customer_id=customer_id))


def set_redirects(redirects: dict[str, str], *, session: Session) -> None:
    """``old customer id -> survivor``; also re-points older redirects to the old id at the survivor."""
    for old, survivor in redirects.items():
        session.execute(update(RedirectRow).where(RedirectRow.survivor_id == old).values(survivor_id=survivor))
    rows = [{"customer_id": old, "survivor_id": survivor} for old, survivor in redirects.items()]
    upsert_rows(session, RedirectRow.__table__, rows, ["customer_id"])  # type: ignore[arg-type]


def clear_redirects(customer_ids: Iterable[str], *, session: Session) -> None:
    """Forget redirects of customer ids that exist again (after a split)."""
    ids = list(set(customer_ids))
    if ids:
        session.execute(delete(RedirectRow).where(any_of(RedirectRow.customer_id, ids, session=session)))


def get_link(link_id: str, *, session: Session) -> tuple[IdentityLink, bool] | None:
    """A link and whether it is active (not removed), or ``None``."""
    row = session.get(LinkRow, link_id)
    return (_link(row), row.removed_at is None) if row else None


def active_link_ids(link_ids: Iterable[str], *, session: Session) -> set[str]:
    """The subset of ``link_ids`` that are stored and active."""
    ids = list(set(link_ids))
    if not ids:
        return set()
    query = select(LinkRow.link_id).where(any_of(LinkRow.link_id, ids, session=session), LinkRow.removed_at.is_(None))
    return set(session.scalars(query))


def add_link(link: IdentityLink, *, session: Session) -> bool:
    """Store a link; re-activates a removed one with the new provenance. Returns whether anything
    changed (``False`` when the link was already active)."""
    return bool(add_links([link], session=session))


def add_links(links: Sequence[IdentityLink], *, session: Session) -> set[str]:
    """Store links (one statement); re-activates removed ones with the new provenance. Returns the ids of
    the links that changed (those not already active)."""
    ids = [link.link_id for link in links]
    active = active_link_ids(ids, session=session)
    rows = [
        {"link_id": link.link_id, "a": link.a, "b": link.b, "source": link.provenance.source,
         "actor": link.provenance.actor, "reference": link.provenance.reference, "created_at": link.created_at,
         "removed_at": None, "removed_by": None}
        for link in {link.link_id: link for link in links if link.link_id not in active}.values()
    ]
    upsert_rows(session, LinkRow.__table__, rows, ["link_id"])  # type: ignore[arg-type]
    return {str(row["link_id"]) for row in rows}


def remove_link(link_id: str, *, at: datetime, by: str | None, session: Session) -> IdentityLink | None:
    """Mark a link removed; returns it, or ``None`` when unknown or already removed."""
    row = session.get(LinkRow, link_id)
    if row is None or row.removed_at is not None:
        return None
    row.removed_at, row.removed_by = at, by
    return _link(row)


def active_links_touching(identity_keys: Iterable[str], *, session: Session) -> list[IdentityLink]:
    """Active links with an end among ``identity_keys``."""
    keys = list(set(identity_keys))
    if not keys:
        return []
    rows = session.scalars(
        select(LinkRow).where(
            LinkRow.removed_at.is_(None),
            or_(any_of(LinkRow.a, keys, session=session), any_of(LinkRow.b, keys, session=session)),
        )
    )
    return [_link(row) for row in rows]


def links_of_customer(customer_id: str, *, session: Session) -> list[tuple[IdentityLink, bool]]:
    """Every link (active or removed) touching the customer's identities."""
    keys = identities_of([customer_id], session=session)[customer_id]
    if not keys:
        return []
    touching = or_(any_of(LinkRow.a, keys, session=session), any_of(LinkRow.b, keys, session=session))
    rows = session.scalars(select(LinkRow).where(touching).order_by(LinkRow.created_at))
    return [(_link(row), row.removed_at is None) for row in rows]


def record_merges(records: Sequence[MergeRecord], *, session: Session) -> None:
    """Append merge/split history."""
    session.add_all(
        MergeRow(
            kind=r.kind, survivor=r.survivor, other=r.other, link_id=r.link_id, at=r.at,
            provenance=r.provenance.model_dump() if r.provenance else None,
        )
        for r in records
    )


def merge_history(customer_id: str, *, session: Session) -> list[MergeRecord]:
    """Merges and splits involving a customer, oldest first."""
    rows = session.scalars(
        select(MergeRow).where(or_(MergeRow.survivor == customer_id, MergeRow.other == customer_id)).order_by(MergeRow.id)
    )
    return [
        MergeRecord(
            kind=row.kind, survivor=row.survivor, other=row.other, link_id=row.link_id, at=row.at,  # type: ignore[arg-type]
            provenance=Provenance.model_validate(row.provenance) if row.provenance else None,
        )
        for row in rows
    ]


def save_suggestions(suggestions: Sequence[Suggestion], *, session: Session) -> int:
    """Store new suggestions; a pair already suggested (any status) is left as it is. Returns how many
    were new."""
    if not suggestions:
        return 0
    ids = [s.suggestion_id for s in suggestions]
    query = select(SuggestionRow.suggestion_id).where(any_of(SuggestionRow.suggestion_id, ids, session=session))
    existing = set(session.scalars(query))
    rows = [s.model_dump() for s in suggestions if s.suggestion_id not in existing]
    upsert_rows(session, SuggestionRow.__table__, rows, ["suggestion_id"], update=False)  # type: ignore[arg-type]
    return len(rows)


def list_suggestions(*, session: Session, status: str | None = "pending", limit: int = 100) -> list[Suggestion]:
    """Suggestions, best score first."""
    query = select(SuggestionRow).order_by(SuggestionRow.score.desc()).limit(limit)
    if status:
        query = query.where(SuggestionRow.status == status)
    return [Suggestion.model_validate(row, from_attributes=True) for row in session.scalars(query)]


def get_suggestion(suggestion_id: str, *, session: Session) -> Suggestion | None:
    row = session.get(SuggestionRow, suggestion_id)
    return Suggestion.model_validate(row, from_attributes=True) if row else None


def set_suggestion_status(suggestion_id: str, status: str, *, session: Session) -> None:
    session.execute(update(SuggestionRow).where(SuggestionRow.suggestion_id == suggestion_id).values(status=status))


def suggestion_candidates(*, session: Session) -> list[Candidate]:
    """Identities with a handle, their customer's display name and the threads they took part in."""
    names = {cid: name for cid, name in session.execute(select(ProfileRow.customer_id, ProfileRow.display_name))}
    threads: dict[str, set[str]] = {}
    for identity_key, thread_key in session.execute(
        select(ProfileEventRow.identity_key, ProfileEventRow.thread_key).where(ProfileEventRow.thread_key.is_not(None))
    ):
        if thread_key:
            threads.setdefault(identity_key, set()).add(thread_key)
    rows = session.execute(
        select(IdentityRow.identity_key, IdentityRow.customer_id, IdentityRow.handle_key).where(IdentityRow.handle_key.is_not(None))
    )
    return [
        Candidate(
            identity_key=key, customer_id=customer_id, handle=(handle_key or "").partition(":")[2],
            display_name=names.get(customer_id), threads=frozenset(threads.get(key, ())),
        )
        for key, customer_id, handle_key in rows
    ]


def count_identities(*, session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(IdentityRow)) or 0)


def _link(row: LinkRow) -> IdentityLink:
    return IdentityLink(
        link_id=row.link_id, a=row.a, b=row.b, created_at=row.created_at,
        provenance=Provenance(source=row.source, actor=row.actor, reference=row.reference),  # type: ignore[arg-type]
    )
