"""Names and shapes of the platform's Kafka topics (the embedded runtime uses the same names in-process)."""

from __future__ import annotations

from dataclasses import dataclass, field

RAW_EVENTS = "scrm.events.raw"
ENRICHED_EVENTS = "scrm.events.enriched"
PROFILES = "scrm.profiles"
PROFILE_CHANGES = "scrm.profile.changes"
ALERTS = "scrm.alerts"
DEADLETTER = "scrm.deadletter"
IDENTITY_LINKS = "scrm.identity.links"
IDENTITY_ASSIGNMENTS = "scrm.identity.assignments"
SEGMENT_CHANGES = "scrm.segments.changes"


@dataclass(frozen=True)
class TopicSpec:
    """How a topic must be created. ``partitions=None`` means the deployment's partition count."""

    name: str
    partitions: int | None = None
    config: dict[str, str] = field(default_factory=dict)


_COMPACTED = {"cleanup.policy": "compact"}

TOPIC_SPECS: tuple[TopicSpec, ...] = (
    TopicSpec(RAW_EVENTS),
    TopicSpec(ENRICHED_EVENTS),
    TopicSpec(PROFILES, config=_COMPACTED),
    TopicSpec(PROFILE_CHANGES),
    TopicSpec(ALERTS),
    TopicSpec(DEADLETTER),
    TopicSpec(IDENTITY_LINKS, partitions=1),
    TopicSpec(IDENTITY_ASSIGNMENTS, config=_COMPACTED),
    TopicSpec(SEGMENT_CHANGES),
)
