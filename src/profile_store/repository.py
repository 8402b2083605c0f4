"""Profile repository: the only code that reads or writes profile tables.

Every function takes a keyword-only ``session`` and never commits: the caller owns the transaction, so
"fold these events, mark them processed" is one atomic unit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from profile_store.contracts import CustomerProfile
from profile_store.tables import IdentityRow, ProcessedEventRow, ProfileRow


def upsert_rows(session: Session, table: Table, rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> None:
    """Insert ``rows`` or update them where ``keys`` already exist, in one statement (SQLite/PostgreSQL)."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(table).values(list(rows))
    updates = {column.name: statement.excluded[column.name] for column in table.columns if column.name not in keys}
    session.execute(statement.on_conflict_do_update(index_elements=list(keys), set_=updates))


def unseen_event_keys(keys: Iterable[str], *, session: Session) -> set[str]:
    """The subset of ``keys`` not yet folded into any profile."""
    wanted = set(keys)
    if not wanted:
        return set()
    seen = session.scalars(select(ProcessedEventRow.event_key).where(ProcessedEventRow.event_key.in_(wanted)))
    return wanted - set(seen)


def mark_processed(event_customers: dict[str, str], *, session: Session) -> None:
    """Record that these ``event_key -> customer_id`` were folded. Idempotent."""
    now = datetime.now(UTC)
    rows = [{"event_key": k, "customer_id": c, "processed_at": now} for k, c in event_customers.items()]
    upsert_rows(session, ProcessedEventRow.__table__, rows, ["event_key"])  # type: ignore[arg-type]


def load_profiles(customer_ids: Iterable[str], *, session: Session) -> dict[str, CustomerProfile]:
    """Profiles by customer id; ids without a profile are absent from the result."""
    ids = set(customer_ids)
    if not ids:
        return {}
    rows = session.scalars(select(ProfileRow).where(ProfileRow.customer_id.in_(ids)))
    return {row.customer_id: CustomerProfile.model_validate(row.data) for row in rows}


def save_profiles(profiles: Sequence[CustomerProfile], *, session: Session) -> None:
    """Upsert profiles and their identity index in one batch. Idempotent."""
    profile_rows = [
        {
            "customer_id": p.customer_id,
            "display_name": p.display_name,
            "lifecycle": p.lifecycle,
            "influence": p.influence,
            "sentiment_ewma": p.sentiment.ewma,
            "event_count": p.event_count,
            "first_seen": p.first_seen,
            "last_seen": p.last_seen,
            "data": p.model_dump(mode="json"),
        }
        for p in profiles
    ]
    identity_rows = [{"identity_key": key, "customer_id": p.customer_id} for p in profiles for key in p.identities]
    upsert_rows(session, ProfileRow.__table__, profile_rows, ["customer_id"])  # type: ignore[arg-type]
    upsert_rows(session, IdentityRow.__table__, identity_rows, ["identity_key"])  # type: ignore[arg-type]


def get_profile(customer_id: str, *, session: Session) -> CustomerProfile | None:
    """One profile by customer id, or ``None``."""
    row = session.get(ProfileRow, customer_id)
    return CustomerProfile.model_validate(row.data) if row else None


def find_profile_by_identity(identity_key: str, *, session: Session) -> CustomerProfile | None:
    """The profile an identity key (e.g. ``weibo:12345``) belongs to, or ``None``."""
    customer_id = session.scalar(select(IdentityRow.customer_id).where(IdentityRow.identity_key == identity_key))
    return get_profile(customer_id, session=session) if customer_id else None


def search_profiles(
    *, session: Session, name: str | None = None, lifecycle: str | None = None, limit: int = 50
) -> list[CustomerProfile]:
    """Profiles whose display name contains ``name`` (case-insensitive) and/or in a lifecycle stage,
    most influential first."""
    query = select(ProfileRow).order_by(ProfileRow.influence.desc(), ProfileRow.last_seen.desc()).limit(limit)
    if name:
        pattern = name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(ProfileRow.display_name.ilike(f"%{pattern}%", escape="\\"))
    if lifecycle:
        query = query.where(ProfileRow.lifecycle == lifecycle)
    return [CustomerProfile.model_validate(row.data) for row in session.scalars(query)]
