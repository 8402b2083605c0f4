"""Names and shapes of the platform's Kafka topics (the embedded runtime uses the same names in-process)."""

from __future__ import annotations

from dataclasses import dataclass, field

from streams.steps.retention import Holds, RetentionPolicy, topic_retention_ms

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
    """How a topic must be created. ``partitions=None`` means the deployment's partition count. ``holds``
    says what its messages carry, which bounds how long it keeps them (``configs``); a compacted topic
    (``cleanup.policy=compact``: the latest value per key, deleted by tombstones) has no time retention."""

    name: str
    partitions: int | None = None
    config: dict[str, str] = field(default_factory=dict)
    holds: tuple[Holds, ...] = ()

    def configs(self, retention: RetentionPolicy) -> dict[str, str]:
        """The topic's own settings under ``retention``: ``config`` plus, unless compacted, ``retention.ms``."""
        if self.config.get("cleanup.policy") == "compact":
            return dict(self.config)
        ms = topic_retention_ms(self.holds, retention)
        # Kafka deletes whole segments: rolling one a day keeps a message from outliving its retention by a week
        rolled = {"segment.ms": str(min(ms, _DAY_MS))} if ms > 0 else {}
        return {**self.config, "retention.ms": str(ms), **rolled}


_DAY_MS = 24 * 3600 * 1000
_COMPACTED = {
    "cleanup.policy": "compact",
    # an erasure's tombstones (``streams.erasure``) must remove the person's older records for good: however
    # little of the log is dirty, a record is compacted within a day, and a tombstone (its key still names
    # the person) is dropped a day after that
    "max.compaction.lag.ms": str(_DAY_MS),
    "delete.retention.ms": str(_DAY_MS),
}

TOPIC_SPECS: tuple[TopicSpec, ...] = (
    TopicSpec(RAW_EVENTS, holds=("text", "events")),
    TopicSpec(ENRICHED_EVENTS, holds=("text", "events")),
    TopicSpec(PROFILES, config=_COMPACTED),
    TopicSpec(PROFILE_CHANGES, holds=("events",)),
    TopicSpec(ALERTS, holds=("text", "events")),  # alert evidence quotes the post
    TopicSpec(DEADLETTER, holds=("deadletters",)),
    TopicSpec(IDENTITY_LINKS, partitions=1, holds=("events",)),
    TopicSpec(IDENTITY_ASSIGNMENTS, config=_COMPACTED),
    TopicSpec(SEGMENT_CHANGES, holds=("events",)),
)
