"""Profile repository: profiles, the per-identity event log, centrality and interaction edges.

Every function takes a keyword-only ``session`` and never commits: the caller owns the transaction, so
"store these events, fold them, save the profiles" is one atomic unit.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, delete, select
from sqlalchemy.orm import Session

from profile_store.contracts import CustomerProfile, Lifecycle
from profile_store.profile_cache import ProfileCache
from profile_store.tables import (
    AuthorFoldRow,
    CentralityRow,
    IdentityRow,
    InteractionEdgeRow,
    ProfileEventRow,
    ProfileRow,
    RedirectRow,
)
from sqlkit import JsonText, any_of, lock_keys, upsert_rows

CUSTOMER_LOCKS = 7_310_001
"""Advisory-lock namespace of customers, taken by every writer of their profiles: event application, the
identity service (merges, CRM imports) and the centrality job."""


def lock_customers(customer_ids: Iterable[str], *, session: Session) -> None:
    """Serialise writers of these customers until the transaction ends (see ``sqlkit.lock_keys``)."""
    lock_keys(customer_ids, namespace=CUSTOMER_LOCKS, session=session)


def unseen_event_keys(keys: Iterable[str], *, session: Session) -> set[str]:
    """The subset of ``keys`` not stored yet (never folded into any profile)."""
    wanted = set(keys)
    if not wanted:
        return set()
    query = select(ProfileEventRow.event_key).where(any_of(ProfileEventRow.event_key, wanted, session=session))
    seen = session.scalars(query)
    return wanted - set(seen)


def store_events(rows: Sequence[dict[str, Any]], *, session: Session) -> None:
    """Append events (``event_key``, ``post_key``, ``identity_key``, ``occurred_at``, ``thread_key``,
    ``data``, ``stored_at``: now, on the wall clock); a stored key is kept (with its ``stored_at``)."""
    upsert_rows(session, ProfileEventRow.__table__, rows, ["event_key"], update=False)  # type: ignore[arg-type]


def events_of_identities(identity_keys: Iterable[str], *, session: Session) -> list[dict[str, Any]]:
    """The stored event payloads of these identities, in event-time order."""
    keys = list(set(identity_keys))
    if not keys:
        return []
    query = (
        select(ProfileEventRow.data)
        .where(any_of(ProfileEventRow.identity_key, keys, session=session))
        .order_by(ProfileEventRow.occurred_at, ProfileEventRow.event_key)
    )
    return list(session.scalars(query))


def store_edges(rows: Sequence[dict[str, Any]], *, session: Session) -> None:
    """Record interaction edges (``event_key``, ``source_identity``, ``target_post_key``,
    ``target_handle_key``, ``stored_at``). Idempotent by event key."""
    upsert_rows(session, InteractionEdgeRow.__table__, rows, ["event_key"], update=False)  # type: ignore[arg-type]


def load_profiles(
    customer_ids: Iterable[str], *, session: Session, cache: ProfileCache | None = None
) -> dict[str, CustomerProfile]:
    """Profiles by customer id; ids without a profile are absent from the result. With a ``cache``, a
    profile whose stored JSON is unchanged since the cache saw it is not validated again."""
    ids = set(customer_ids)
    if not ids:
        return {}
    query = select(ProfileRow.customer_id, cast(ProfileRow.data, Text)).where(
        any_of(ProfileRow.customer_id, ids, session=session))
    parse = cache.parse if cache is not None else _parse_profile
    return {customer_id: parse(customer_id, text) for customer_id, text in session.execute(query)}


def survivors_of(customer_ids: Iterable[str], *, session: Session) -> dict[str, str]:
    """``merged-away id -> survivor`` for those of ``customer_ids`` that were merged into another."""
    ids = set(customer_ids)
    if not ids:
        return {}
    query = select(RedirectRow.customer_id, RedirectRow.survivor_id).where(
        any_of(RedirectRow.customer_id, ids, session=session))
    return {cid: survivor for cid, survivor in session.execute(query)}


STANDING_LOCKS = 7_310_003
"""Advisory-lock namespace of the alert lane's author folds (apart from the customers' own, so the alert
lane never waits for an applying transaction)."""


def load_author_folds(customer_ids: Iterable[str], *, session: Session) -> dict[str, CustomerProfile]:
    """Lock and load the alert lane's folds of these authors; ids never folded are absent. Blocks on
    PostgreSQL while another transaction holds one of them."""
    ids = set(customer_ids)
    if not ids:
        return {}
    lock_keys(ids, namespace=STANDING_LOCKS, session=session)
    query = select(AuthorFoldRow.customer_id, cast(AuthorFoldRow.data, Text)).where(
        any_of(AuthorFoldRow.customer_id, ids, session=session))
    return {cid: CustomerProfile.model_validate_json(text) for cid, text in session.execute(query)}


def save_author_folds(folds: Sequence[CustomerProfile], *, session: Session) -> None:
    """Upsert the alert lane's author folds (the caller holds their locks). Idempotent."""
    rows = [{"customer_id": f.customer_id, "data": JsonText(f.model_dump_json())} for f in folds]
    upsert_rows(session, AuthorFoldRow.__table__, rows, ["customer_id"])  # type: ignore[arg-type]


def _parse_profile(customer_id: str, text: str) -> CustomerProfile:
    return CustomerProfile.model_validate_json(text)


def save_profiles(profiles: Sequence[CustomerProfile], *, session: Session, cache: ProfileCache | None = None) -> None:
    """Upsert profiles in one batch (and tell ``cache`` the JSON each is stored as). Idempotent. The caller
    holds the customers' locks (``lock_customers``) since before it read what it saves, in this
    transaction: else a profile another writer saved in between is overwritten."""
    texts = [p.model_dump_json() for p in profiles]
    if cache is not None:
        for profile, text in zip(profiles, texts, strict=True):
            cache.remember(profile, text)
    rows = [
        {
            "customer_id": p.customer_id,
            "display_name": p.display_name,
            "lifecycle": p.lifecycle,
            "influence": p.influence,
            "churn_risk": p.churn_risk,
            "sentiment_ewma": p.sentiment.ewma,
            "event_count": p.event_count,
            "first_seen": p.first_seen,
            "last_seen": p.last_seen,
            "data": JsonText(text),
        }
        for p, text in zip(profiles, texts, strict=True)
    ]
    upsert_rows(session, ProfileRow.__table__, rows, ["customer_id"])  # type: ignore[arg-type]


def delete_profiles(customer_ids: Iterable[str], *, session: Session) -> None:
    """Remove profiles (merged away, or left without events); the caller holds the customers' locks."""
    ids = list(set(customer_ids))
    if ids:
        session.execute(delete(ProfileRow).where(any_of(ProfileRow.customer_id, ids, session=session)))


def resolve_redirect(customer_id: str, *, session: Session) -> str:
    """The surviving customer id for a possibly merged-away one (itself when not merged)."""
    survivor = session.scalar(select(RedirectRow.survivor_id).where(RedirectRow.customer_id == customer_id))
    return survivor or customer_id


def get_profile(customer_id: str, *, session: Session) -> CustomerProfile | None:
    """One profile by customer id, following the redirect of a merged-away id; ``None`` if unknown."""
    row = session.get(ProfileRow, resolve_redirect(customer_id, session=session))
    return CustomerProfile.model_validate(row.data) if row else None


def find_profile_by_identity(identity_key: str, *, session: Session) -> CustomerProfile | None:
    """The profile an identity key (e.g. ``weibo:12345``) belongs to, or ``None``."""
    customer_id = session.scalar(select(IdentityRow.customer_id).where(IdentityRow.identity_key == identity_key))
    return get_profile(customer_id, session=session) if customer_id else None


def search_profiles(
    *,
    session: Session,
    name: str | None = None,
    lifecycle: Lifecycle | None = None,
    min_influence: float | None = None,
    limit: int = 50,
) -> list[CustomerProfile]:
    """Profiles whose display name contains ``name`` (case-insensitive, literal), in a lifecycle stage,
    at or above an influence; most influential first."""
    query = select(ProfileRow).order_by(ProfileRow.influence.desc(), ProfileRow.last_seen.desc()).limit(limit)
    if name:
        pattern = name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(ProfileRow.display_name.ilike(f"%{pattern}%", escape="\\"))
    if lifecycle:
        query = query.where(ProfileRow.lifecycle == lifecycle)
    if min_influence is not None:
        query = query.where(ProfileRow.influence >= min_influence)
    return [CustomerProfile.model_validate(row.data) for row in session.scalars(query)]


def centrality_of(customer_ids: Iterable[str], *, session: Session) -> dict[str, float]:
    """The latest centrality percentile (0-100) of these customers; absent ones have none yet."""
    ids = list(set(customer_ids))
    if not ids:
        return {}
    query = select(CentralityRow.customer_id, CentralityRow.percentile).where(
        any_of(CentralityRow.customer_id, ids, session=session))
    rows = session.execute(query)
    return {customer_id: percentile for customer_id, percentile in rows}


def save_centrality(rows: Sequence[tuple[str, float, float]], computed_at: datetime, *, session: Session) -> None:
    """Store ``(customer_id, pagerank, percentile)`` rows."""
    payload = [{"customer_id": c, "pagerank": p, "percentile": q, "computed_at": computed_at} for c, p, q in rows]
    upsert_rows(session, CentralityRow.__table__, payload, ["customer_id"])  # type: ignore[arg-type]


def iter_resolved_edges(*, session: Session, chunk_size: int = 100_000) -> Iterator[list[tuple[str, str]]]:
    """Interaction edges as ``(source customer, target customer)`` pairs, in chunks, resolved through
    the current identities (targets by the replied-to post's author, or the mentioned handle's owner).
    A reply names its parent by ``post_key`` only: when several authors' stored events share that post
    key (a producer reusing an event id for another author), the reply is an edge to each of them.
    Streams from the database; never loads the whole graph as rows at once."""
    source = IdentityRow.__table__.alias("source_identity")
    by_event = IdentityRow.__table__.alias("event_author")
    by_handle = IdentityRow.__table__.alias("handle_owner")
    edges, events = InteractionEdgeRow.__table__, ProfileEventRow.__table__
    query = (
        select(source.c.customer_id, by_event.c.customer_id, by_handle.c.customer_id)
        .select_from(edges)
        .join(source, source.c.identity_key == edges.c.source_identity)
        .outerjoin(events, events.c.post_key == edges.c.target_post_key)
        .outerjoin(by_event, by_event.c.identity_key == events.c.identity_key)
        .outerjoin(by_handle, by_handle.c.handle_key == edges.c.target_handle_key)
    )
    result = session.execute(query.execution_options(yield_per=chunk_size))
    for partition in result.partitions(chunk_size):
        pairs = [(src, event_target or handle_target) for src, event_target, handle_target in partition]
        yield [(src, dst) for src, dst in pairs if dst and dst != src]
