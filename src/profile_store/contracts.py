"""``CustomerProfile`` (schema version 1): one live profile per customer, a fold over enriched events.

Published on ``scrm.profiles`` (compacted, keyed by customer id) and stored by ``profile_store``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Lifecycle = Literal["prospect", "customer", "member", "fan", "advocate", "detractor"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SentimentSummary(_Frozen):
    """Sentiment over the customer's texts: an event-ordered EWMA of scores and counts by label."""

    ewma: float = Field(default=0.0, ge=-1.0, le=1.0)
    positive: int = 0
    neutral: int = 0
    negative: int = 0


class TimelineItem(_Frozen):
    """One recent interaction, as the profile's timeline shows it."""

    event_id: str
    occurred_at: datetime
    platform: str
    kind: str
    text: str | None = None
    sentiment: str | None = None
    url: str | None = None


class CustomerProfile(_Frozen):
    """Everything known about one customer, across platforms."""

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
    lifecycle: Lifecycle = "prospect"
    influence: float = Field(default=0.0, ge=0.0, le=100.0)
    timeline: tuple[TimelineItem, ...] = ()
