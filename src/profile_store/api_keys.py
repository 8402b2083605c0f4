"""The people and services who may use the API, and the hash of each one's key (table ``api_keys``).

A key is never stored: only its SHA-256 (``secret_hash``, hex) beside a short public ``key_id`` the key
carries, so a request finds its one candidate row by id and compares hashes in constant time
(``api.auth``). Keys are random 256-bit secrets, not passwords a person chose, so a fast hash is enough:
a stolen table gives nothing to guess from. ``name`` is who acts: every action taken with the key records
it. Repository functions take a keyword-only ``session`` and never commit.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import DateTime, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from profile_store.exceptions import KeyNameTaken
from sqlkit import as_aware

KEY_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$"
"""A person's or service's name: ``ann@example.com``, ``crm-sync``, ``team.pr``."""


class StoredKey(BaseModel):
    """One key's record. ``revoked_at`` / ``expires_at`` set: the key no longer opens anything."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=KEY_NAME_PATTERN)
    role: str
    key_id: str
    secret_hash: str
    created_at: datetime
    created_by: str | None = None
    expires_at: datetime | None = None
    revoked_at: datetime | None = None

    def active(self, now: datetime) -> bool:
        """Not revoked and not expired at ``now`` (an aware datetime)."""
        return self.revoked_at is None and (self.expires_at is None or as_aware(self.expires_at) > now)


class AccessBase(DeclarativeBase):
    """Declarative base of the access tables."""


class ApiKeyRow(AccessBase):
    __tablename__ = "api_keys"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str | None] = mapped_column(String(128))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


def _stored(row: ApiKeyRow) -> StoredKey:
    return StoredKey(name=row.name, role=row.role, key_id=row.key_id, secret_hash=row.secret_hash,
                     created_at=as_aware(row.created_at), created_by=row.created_by,
                     expires_at=as_aware(row.expires_at) if row.expires_at else None,
                     revoked_at=as_aware(row.revoked_at) if row.revoked_at else None)


def add_key(key: StoredKey, *, session: Session) -> None:
    """Store a new key. A name is used once, ever (a revoked name stays taken, so the actions it recorded
    keep meaning one holder): raises ``KeyNameTaken`` otherwise."""
    if session.get(ApiKeyRow, key.name) is not None:
        raise KeyNameTaken(key.name)
    session.add(ApiKeyRow(**key.model_dump()))
    try:
        session.flush()
    except IntegrityError as exc:
        raise KeyNameTaken(key.name) from exc


def list_keys(*, session: Session) -> list[StoredKey]:
    """Every key ever created, revoked ones too, by name."""
    return [_stored(row) for row in session.scalars(select(ApiKeyRow).order_by(ApiKeyRow.name))]


def revoke_key(name: str, at: datetime, *, session: Session) -> StoredKey | None:
    """Mark a key revoked at ``at`` (idempotent: an already revoked key keeps its first time); ``None`` if
    no key has that name."""
    row = session.get(ApiKeyRow, name)
    if row is None:
        return None
    if row.revoked_at is None:
        row.revoked_at = at
        session.flush()
    return _stored(row)
