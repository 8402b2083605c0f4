"""SQLAlchemy tables of the profile store. The full profile is kept as JSON; the columns beside it are
what segment rules and lookups filter on."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Float, Index, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class ProfileBase(DeclarativeBase):
    """Declarative base of the profile store's tables."""


class ProfileRow(ProfileBase):
    __tablename__ = "profiles"

    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str | None] = mapped_column(String(512))
    lifecycle: Mapped[str] = mapped_column(String(32), index=True)
    influence: Mapped[float] = mapped_column(Float, index=True)
    sentiment_ewma: Mapped[float] = mapped_column(Float)
    event_count: Mapped[int] = mapped_column(Integer)
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    data: Mapped[dict[str, object]] = mapped_column(JSON)


class IdentityRow(ProfileBase):
    """Which customer an identity key (``weibo:123``, ``email:a@b.c``) belongs to."""

    __tablename__ = "profile_identities"

    identity_key: Mapped[str] = mapped_column(String(600), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)


class ProcessedEventRow(ProfileBase):
    """Events already folded into a profile: the idempotency ledger (key ``<platform>:<event_id>``)."""

    __tablename__ = "processed_events"

    event_key: Mapped[str] = mapped_column(String(600), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64))
    processed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


Index("ix_profiles_display_name", ProfileRow.display_name)
