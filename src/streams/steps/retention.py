"""The retention policy and what it asks for at a given moment (pure).

Ages count on the wall clock, from when a row was **stored** (``profile_events.stored_at``, the dead letter's
``failed_at``, ClickHouse's ``ingested_at``, an alert's ``recorded_at``, an incident's ``updated_at``), never
from the event time: the policy is about how long the platform keeps personal data, so a year-old file
replayed today is kept as data stored today. ``plan_retention`` turns the policy and ``now`` into cut-offs;
``topic_retention_ms`` gives each Kafka topic class its ``retention.ms``. The job that applies a plan is
``streams.jobs.retention``; the operators' view is docs/operations.md, "Retention".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Holds = Literal["text", "events", "deadletters"]
"""What a topic's messages carry, for its retention: post text, events (personal data without free text
beyond what ``text`` covers), original bytes of rejected input."""

_DAY_MS = 86_400_000


class RetentionPolicy(BaseModel):
    """How long each kind of stored personal data is kept, in days since it was stored; ``None`` keeps it
    for ever. Set per deployable as ``SCRM_PIPELINE__RETENTION__<FIELD>`` (e.g. ``RAW_TEXT_DAYS=90``;
    ``forever``, ``none`` or an empty value for ``None``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    raw_text_days: int | None = Field(
        default=180, ge=1,
        description="post text (and the raw payload kept with an event, and the post text quoted in alert "
        "evidence) is blanked this long after it was stored; scores, counts and profiles stay",
    )
    events_days: int | None = Field(
        default=730, ge=1,
        description="stored events (profile event log, interaction edges, ClickHouse events) are deleted this "
        "long after they were stored; profiles and rollups keep the counts folded from them",
    )
    deadletters_days: int | None = Field(
        default=30, ge=1, description="dead letters (they hold the original bytes) are deleted this long after they failed",
    )
    topic_days: int | None = Field(
        default=7, ge=1,
        description="Kafka event topics keep messages this long (Kafka's own default is 7 days), capped by "
        "raw_text_days on topics that carry text, events_days on the others, deadletters_days on scrm.deadletter",
    )


    @field_validator("raw_text_days", "events_days", "deadletters_days", "topic_days", mode="before")
    @classmethod
    def _forever(cls, value: object) -> object:
        """The environment's words for "no limit" (it has no ``None``)."""
        return None if isinstance(value, str) and value.strip().lower() in {"", "none", "null", "forever"} else value


@dataclass(frozen=True, slots=True)
class RetentionPlan:
    """The cut-offs of one pass: rows stored before each are due (``None``: nothing of that kind is)."""

    now: datetime
    text_before: datetime | None
    events_before: datetime | None
    deadletters_before: datetime | None


def plan_retention(policy: RetentionPolicy, now: datetime) -> RetentionPlan:
    """The cut-offs at wall time ``now`` (timezone-aware, raises ``ValueError`` otherwise; in UTC)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("retention is planned on an aware wall-clock time")
    now = now.astimezone(UTC)

    def before(days: int | None) -> datetime | None:
        return None if days is None else now - timedelta(days=days)

    return RetentionPlan(now=now, text_before=before(policy.raw_text_days), events_before=before(policy.events_days),
                         deadletters_before=before(policy.deadletters_days))


def topic_retention_ms(holds: Iterable[Holds], policy: RetentionPolicy) -> int:
    """``retention.ms`` of a (delete-policy) topic whose messages carry ``holds``: the shortest of
    ``topic_days`` and the limits of what it carries; ``-1`` (Kafka's "for ever") when none is set."""
    limits = {"text": policy.raw_text_days, "events": policy.events_days, "deadletters": policy.deadletters_days}
    days = [d for d in (policy.topic_days, *(limits[kind] for kind in holds)) if d is not None]
    return min(days) * _DAY_MS if days else -1
