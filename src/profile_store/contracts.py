"""``CustomerProfile`` (schema version 1): one live profile per customer, a fold over enriched events.

Published on ``scrm.profiles`` (compacted, keyed by customer id) and stored by ``profile_store``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

Lifecycle = Literal["prospect", "customer", "member", "fan", "advocate", "detractor"]
CrmStage = Literal["prospect", "customer", "member"]
"""What the CRM says a customer is (``docs/importers.md``): the floor of the profile's lifecycle."""
CrmValue = str | int | float | bool | tuple[str, ...]
"""A typed CRM attribute: text, integer, number, boolean, or a list of strings (tags)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SentimentSummary(_Frozen):
    """Sentiment over the customer's texts: an event-ordered EWMA of scores and counts by label."""

    ewma: float = Field(default=0.0, ge=-1.0, le=1.0)
    positive: int = 0
    neutral: int = 0
    negative: int = 0


class Consent(_Frozen):
    """What the customer agreed to, per purpose: on a profile, the effective consent of the consent store
    over every identity of the customer (``profile_store.consents``, docs/consent.md); on a CRM record,
    what the CRM's row said. ``None``: nobody said."""

    contact: bool | None = None
    marketing: bool | None = None
    analytics: bool | None = None


ConsentPurpose = Literal["contact", "marketing", "analytics"]
"""What a consent is for: being contacted at all, receiving marketing, being analysed (the ``Consent`` fields)."""


class ConsentStatement(_Frozen):
    """One identity's newest statement on one purpose (table ``consents``): granted or withdrawn, who said
    it (``source``: ``crm``, a connector's name, ``api:<principal>``) and when (``updated_at``: the import,
    the event's time, the API call)."""

    identity_key: str = Field(min_length=1, max_length=600)
    purpose: ConsentPurpose
    granted: bool
    source: str = Field(min_length=1, max_length=256)
    updated_at: AwareDatetime


class TimelineItem(_Frozen):
    """One recent interaction, as the profile's timeline shows it."""

    event_id: str
    occurred_at: datetime
    platform: str
    kind: str
    text: str | None = None
    sentiment: str | None = None
    url: str | None = None


class InfluenceBreakdown(_Frozen):
    """The components of the influence score, each 0-100, and their weighted sum."""

    reach: float = 0.0
    engagement: float = 0.0
    amplification: float = 0.0
    centrality: float = 0.0
    score: float = Field(default=0.0, ge=0.0, le=100.0)


class CustomerProfile(_Frozen):
    """Everything known about one customer, across platforms: a deterministic fold over the customer's
    events in event-time order (so recomputing from the same events gives the same profile), overlaid
    with the CRM's records of the customer's ``crm:`` identities (``crm``, ``crm_stage``;
    ``profile_store.crm_profile.with_crm``) and the effective consent over all their identities
    (``consent``: ``profile_store.consents``), which live in their own tables and survive every refold."""

    schema_version: Literal[1] = 1
    customer_id: str
    identities: tuple[str, ...] = ()
    display_name: str | None = None
    first_seen: datetime
    last_seen: datetime
    event_count: int = 0
    active_days: int = 0
    counts_by_kind: dict[str, int] = Field(default_factory=dict)
    counts_by_platform: dict[str, int] = Field(default_factory=dict)
    brands: dict[str, int] = Field(default_factory=dict)
    sentiment: SentimentSummary = SentimentSummary()
    topics: dict[str, float] = Field(default_factory=dict)
    intents: dict[str, int] = Field(default_factory=dict)
    followers: int = 0
    verified: bool = False
    crm_id: str | None = None
    crm: dict[str, CrmValue] = Field(default_factory=dict)
    consent: Consent = Consent()
    crm_stage: CrmStage | None = None
    lifecycle: Lifecycle = "prospect"
    churn_risk: float = Field(default=0.0, ge=0.0, le=1.0)
    influence: float = Field(default=0.0, ge=0.0, le=100.0)
    influence_components: InfluenceBreakdown = InfluenceBreakdown()
    engagement_received: int = 0
    brand_shares: int = 0
    timeline: tuple[TimelineItem, ...] = ()


class AuthorStanding(_Frozen):
    """What the alert detectors need of an author's profile: how influential, at which lifecycle stage,
    since when known (``None``: not seen before)."""

    influence: float = Field(default=0.0, ge=0.0, le=100.0)
    lifecycle: Lifecycle = "prospect"
    first_seen: datetime | None = None


LinkSource = Literal["connector", "crm_import", "reviewer", "api", "suggestion"]


class Provenance(_Frozen):
    """Where a link came from: the kind of source, who (connector name, importer, reviewer) and a
    reference (file name and row, event id, suggestion id)."""

    source: LinkSource
    actor: str | None = None
    reference: str | None = None


class IdentityLink(_Frozen):
    """A deterministic statement that two identity keys are the same person. ``link_id`` is uuid5 of the
    unordered pair, so the same link from two sources is one link (its first provenance kept)."""

    link_id: str
    a: str
    b: str
    provenance: Provenance
    created_at: datetime


class LinkSignal(_Frozen):
    """The value on ``scrm.identity.links``: add a link, remove one by id, or ``reelect`` the customer of
    ``identity``'s component (sent when an event reveals that a linked identity acted earlier than known,
    which can change which customer id the component keeps)."""

    schema_version: Literal[1] = 1
    op: Literal["link", "unlink", "reelect"]
    link: IdentityLink | None = None
    link_id: str | None = None
    identity: str | None = None
    requested_by: str | None = None
    at: datetime


class MergeRecord(_Frozen):
    """A merge, split or re-election (the component's id moved to an identity seen earlier) in a
    customer's history, with the link that caused it (none for a re-election)."""

    kind: Literal["merge", "split", "reelect"]
    survivor: str
    other: str
    link_id: str | None = None
    provenance: Provenance | None = None
    at: datetime


class Suggestion(_Frozen):
    """A probable (not certain) match between two identities, for a reviewer: score in [0, 1] with the
    evidence behind it. Never merged automatically below the configured threshold."""

    suggestion_id: str
    a: str
    b: str
    score: float = Field(ge=0.0, le=1.0)
    evidence: dict[str, object] = Field(default_factory=dict)
    status: Literal["pending", "accepted", "rejected"] = "pending"
    created_at: datetime


class CrmRecord(_Frozen):
    """What the CRM says about one of its customers (schema version 1): the last imported row of
    ``crm_id``, stored in ``crm_records`` apart from the folded profile and overlaid on the profile of
    whoever holds the identity ``crm:<crm_id>``. ``identities``: the keys the row linked to it."""

    schema_version: Literal[1] = 1
    crm_id: str = Field(min_length=1, max_length=256)
    attributes: dict[str, CrmValue] = Field(default_factory=dict)
    consent: Consent = Consent()
    stage: CrmStage = "customer"
    identities: tuple[str, ...] = ()


class ErasureRecord(_Frozen):
    """The audit of one erasure (``erasure_audit``): who asked, when, why, how many rows each store lost
    (``sql.<table>``, ``clickhouse.<table>``, ``kafka.<topic>`` tombstones, ``suppressed_keys``), and the
    keyed hash of the subject asked for. Never the erased data."""

    erasure_id: str
    subject_digest: str
    requested_by: str
    reason: str | None = None
    requested_at: datetime
    completed_at: datetime | None = None
    counts: dict[str, int] = Field(default_factory=dict)
