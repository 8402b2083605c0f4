"""The suppression list and the erasure audit (PIPL / GDPR erasure, ``streams.erasure``).

- ``erased_identities``: the keyed hash (``PrivacyKey.digest``: HMAC-SHA256 with the deployment's secret) of
  every identity key and customer id an erasure removed. The lanes drop events, links and imports of a listed
  key (counted as suppressed, never stored or dead-lettered), so a replay or a new delivery cannot bring the
  person back. Only digests are kept: the list names nobody to whoever reads the database without the secret.
- ``erasure_audit``: one row per erasure: who asked, when, why, how many rows each store lost, and the
  digest of the subject asked for (so ``scrm erase --verify`` can find the erasure again); never the erased
  data itself.

Repository functions take a keyword-only ``session`` and never commit.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import JSON, DateTime, String, Text, func, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from profile_store.contracts import ErasureRecord
from sqlkit import any_of, insert_new

SECRET_FILE = "privacy.key"
"""Where the embedded runtime keeps a generated secret, in its data directory (mode 0600)."""


class PrivacyBase(DeclarativeBase):
    """Declarative base of the privacy tables."""


class ErasedIdentityRow(PrivacyBase):
    __tablename__ = "erased_identities"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    erasure_id: Mapped[str] = mapped_column(String(64), index=True)
    erased_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ErasureAuditRow(PrivacyBase):
    __tablename__ = "erasure_audit"

    erasure_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject_digest: Mapped[str] = mapped_column(String(64), index=True)
    requested_by: Mapped[str] = mapped_column(String(256))
    reason: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    counts: Mapped[dict[str, object]] = mapped_column(JSON)


@dataclass(frozen=True, slots=True)
class PrivacyKey:
    """The deployment's secret for keyed hashes of identity keys. Every process of a deployment must use
    the same one (else a worker does not recognise what another erased)."""

    secret: bytes

    def digest(self, value: str) -> str:
        """HMAC-SHA256 of ``value`` under the secret, hex (64 characters)."""
        return hmac.new(self.secret, value.encode(), hashlib.sha256).hexdigest()

    @classmethod
    def from_text(cls, secret: str) -> PrivacyKey:
        return cls(secret.encode())


def embedded_key(data_dir: Path, configured: str = "") -> PrivacyKey:
    """The embedded runtime's key: ``configured`` when set, else the secret in ``data_dir/privacy.key``,
    generated (32 random bytes, file mode 0600) on first use. Blocks (file IO); idempotent."""
    if configured:
        return PrivacyKey.from_text(configured)
    path = data_dir / SECRET_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_hex(32))
    return PrivacyKey.from_text(path.read_text().strip())


def suppressed(keys: Iterable[str], privacy: PrivacyKey, *, session: Session) -> set[str]:
    """Which of ``keys`` (identity keys or customer ids) an erasure listed. One query; empty input reads
    nothing. On PostgreSQL the read holds the table's share lock until the transaction ends, so an erasure
    (which locks the table exclusively, ``lock_for_erasure``) waits for a transaction that checked, and a
    transaction checking during an erasure waits for it and then sees its rows."""
    digests = {privacy.digest(key): key for key in set(keys)}
    if not digests:
        return set()
    found = session.scalars(select(ErasedIdentityRow.digest).where(
        any_of(ErasedIdentityRow.digest, list(digests), session=session)))
    return {digests[digest] for digest in found}


def lock_for_erasure(*, session: Session) -> None:
    """PostgreSQL: lock ``erased_identities`` exclusively until the transaction ends, waiting for every
    transaction that read it (``suppressed``) to finish: no lane writes a person the erasure is removing
    after having checked them before it began. SQLite has one writer at a time already: a no-op there."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"LOCK TABLE {ErasedIdentityRow.__tablename__} IN ACCESS EXCLUSIVE MODE"))


def suppress(keys: Iterable[str], privacy: PrivacyKey, *, erasure_id: str, at: datetime, session: Session) -> int:
    """List ``keys`` (idempotent: a key listed before keeps its first erasure); returns how many are new."""
    rows = [{"digest": privacy.digest(key), "erasure_id": erasure_id, "erased_at": at} for key in set(keys)]
    return len(insert_new(session, ErasedIdentityRow.__table__, rows, "digest")) if rows else 0  # type: ignore[arg-type]


def is_listed(key: str, privacy: PrivacyKey, *, session: Session) -> bool:
    """Whether an erasure listed ``key``."""
    return bool(suppressed([key], privacy, session=session))


def record_erasure(record: ErasureRecord, *, session: Session) -> None:
    """Store (or complete) the audit row of an erasure."""
    row = session.get(ErasureAuditRow, record.erasure_id)
    if row is None:
        session.add(ErasureAuditRow(erasure_id=record.erasure_id, subject_digest=record.subject_digest,
                                    requested_by=record.requested_by, reason=record.reason,
                                    requested_at=record.requested_at, completed_at=record.completed_at,
                                    counts=dict(record.counts)))
        return
    row.completed_at = record.completed_at
    row.counts = dict(record.counts)


def erasures_of(subject: str, privacy: PrivacyKey, *, session: Session) -> list[ErasureRecord]:
    """The audit rows of erasures asked for ``subject`` (an identity key or customer id), oldest first."""
    rows = session.scalars(select(ErasureAuditRow).where(ErasureAuditRow.subject_digest == privacy.digest(subject))
                           .order_by(ErasureAuditRow.requested_at))
    return [_record(row) for row in rows]


def list_erasures(*, limit: int, session: Session) -> list[ErasureRecord]:
    """The newest ``limit`` erasures, newest first."""
    rows = session.scalars(select(ErasureAuditRow).order_by(ErasureAuditRow.requested_at.desc()).limit(limit))
    return [_record(row) for row in rows]


def count_suppressed(*, session: Session) -> int:
    """How many keys the suppression list holds."""
    return int(session.scalar(select(func.count()).select_from(ErasedIdentityRow)) or 0)


def _record(row: ErasureAuditRow) -> ErasureRecord:
    return ErasureRecord(erasure_id=row.erasure_id, subject_digest=row.subject_digest, requested_by=row.requested_by,
                         reason=row.reason, requested_at=row.requested_at, completed_at=row.completed_at,
                         counts={str(k): int(v) for k, v in row.counts.items()})  # type: ignore[call-overload]
