"""SQLAlchemy tables of the profile store.

A profile is derived state: ``profile_events`` keeps every enriched event (the idempotency ledger too),
``identities`` says which customer each identity key belongs to, ``identity_links`` is the graph that
decides it. The ``profiles`` row keeps the full profile as JSON beside the columns segments filter on.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, Float, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class ProfileBase(DeclarativeBase):
    """Declarative base of the profile store's tables."""


class ProfileRow(ProfileBase):
    __tablename__ = "profiles"

    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str | None] = mapped_column(String(512))
    lifecycle: Mapped[str] = mapped_column(String(32), index=True)
    influence: Mapped[float] = mapped_column(Float, index=True)
    churn_risk: Mapped[float] = mapped_column(Float, default=0.0)
    sentiment_ewma: Mapped[float] = mapped_column(Float)
    event_count: Mapped[int] = mapped_column(Integer)
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    data: Mapped[dict[str, object]] = mapped_column(JSON)


class AuthorFoldRow(ProfileBase):
    """The alert lane's own fold of each author's standing (a slim profile: no timeline, topics or
    identities), over the events the detectors saw in arrival order: so the detectors judge an author by
    the same history whichever runtime runs them and however far the apply lane lags."""

    __tablename__ = "author_folds"

    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[dict[str, object]] = mapped_column(JSON)


class IdentityRow(ProfileBase):
    """Which customer an identity key (``weibo:123``, ``email:a@b.c``) belongs to, and when it was first
    seen acting (``None`` for linking keys that never act)."""

    __tablename__ = "identities"

    identity_key: Mapped[str] = mapped_column(String(600), primary_key=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    handle_key: Mapped[str | None] = mapped_column(String(600), index=True)
    first_seen: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ProfileEventRow(ProfileBase):
    """Every enriched event folded into a profile, by identity: the idempotency ledger (key
    ``ingest.contracts.event_key``: platform, author id and event id) and the source profiles are
    recomputed from on merge and split. ``post_key`` (``<platform>:<event_id>``) is how replies name it.
    ``stored_at`` is when the row was written (wall clock; ``occurred_at`` is the event's time): the
    retention job's clock (``profile_store.retention``)."""

    __tablename__ = "profile_events"

    event_key: Mapped[str] = mapped_column(String(600), primary_key=True)
    post_key: Mapped[str] = mapped_column(String(600), index=True)
    identity_key: Mapped[str] = mapped_column(String(600), index=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    thread_key: Mapped[str | None] = mapped_column(String(600), index=True)
    data: Mapped[dict[str, object]] = mapped_column(JSON)
    stored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class InteractionEdgeRow(ProfileBase):
    """Who interacted with whom (reply, comment, share of another's event; mention of a handle): the
    graph network centrality is computed over. Keyed by the event's key (``#m<n>`` appended for its
    mentions); the target is the parent's ``post_key`` (a reply does not know the parent's author) or the
    mentioned handle's key. ``stored_at``: written with the event (wall clock), for retention."""

    __tablename__ = "interaction_edges"

    event_key: Mapped[str] = mapped_column(String(600), primary_key=True)
    source_identity: Mapped[str] = mapped_column(String(600), index=True)
    target_post_key: Mapped[str | None] = mapped_column(String(600))
    target_handle_key: Mapped[str | None] = mapped_column(String(600))
    stored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class RedirectRow(ProfileBase):
    """A merged-away customer id and the survivor it now resolves to."""

    __tablename__ = "customer_redirects"

    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    survivor_id: Mapped[str] = mapped_column(String(64), index=True)


class LinkRow(ProfileBase):
    __tablename__ = "identity_links"

    link_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    a: Mapped[str] = mapped_column(String(600), index=True)
    b: Mapped[str] = mapped_column(String(600), index=True)
    source: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str | None] = mapped_column(String(256))
    reference: Mapped[str | None] = mapped_column(String(1024))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    removed_by: Mapped[str | None] = mapped_column(String(256))


class MergeRow(ProfileBase):
    __tablename__ = "merge_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    survivor: Mapped[str] = mapped_column(String(64), index=True)
    other: Mapped[str] = mapped_column(String(64), index=True)
    link_id: Mapped[str | None] = mapped_column(String(64))
    provenance: Mapped[dict[str, object] | None] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SuggestionRow(ProfileBase):
    __tablename__ = "identity_suggestions"

    suggestion_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    a: Mapped[str] = mapped_column(String(600))
    b: Mapped[str] = mapped_column(String(600))
    score: Mapped[float] = mapped_column(Float, index=True)
    evidence: Mapped[dict[str, object]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CentralityRow(ProfileBase):
    """The latest PageRank of a customer over the interaction graph, as a percentile 0-100."""

    __tablename__ = "centrality"

    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    pagerank: Mapped[float] = mapped_column(Float)
    percentile: Mapped[float] = mapped_column(Float)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class CrmRecordRow(ProfileBase):
    """The CRM's last imported row of each CRM customer (``contracts.CrmRecord`` as JSON), apart from the
    folded profiles so that merges, splits and refolds never lose it; overlaid on the profile holding the
    identity ``crm:<crm_id>``. ``created_at``: when sCRM first imported it (a CRM-only customer's first
    and last seen); ``updated_at``: when an import last changed it."""

    __tablename__ = "crm_records"

    crm_id: Mapped[str] = mapped_column(String(256), primary_key=True)
    data: Mapped[dict[str, object]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ConsentRow(ProfileBase):
    """Each identity's newest statement per purpose (``contracts.ConsentStatement``): consent is about a
    person but arrives per identity, so it is kept by identity key, apart from the profiles, and every
    merge, split and refold recomputes the customer's effective consent from their identities' rows
    (``profile_store.consents``)."""

    __tablename__ = "consents"

    identity_key: Mapped[str] = mapped_column(String(600), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16), primary_key=True)
    granted: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(256))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
