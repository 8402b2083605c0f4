"""Errors raised by the stream runtimes."""

from __future__ import annotations

EXIT_DEAD_LETTERS = 70
"""Exit code of a process whose lane the dead-letter guard stopped (restarting trips it again: look at the
dead letters, fix the producer or ``scrm deadletters skip``)."""
EXIT_UNAVAILABLE = 75
"""Exit code of a process whose database or broker stayed away past its retries (restart it)."""


class DeadLetterRatioExceeded(RuntimeError):
    """Too large a share of a partition's recent input was dead-lettered: the lane stops loudly, its
    batch uncommitted. ``scrm deadletters skip --lane LANE`` waives the burst (audited)."""

    def __init__(self, lane: str, topic: str, partition: int | None, offset: int | None, what: str) -> None:
        super().__init__(
            f"{lane} lane stopped: {what} on {topic} partition {partition} (at offset {offset}); stopping so a bad "
            f"deploy or a wrong topic does not drain into the dead-letter queue. Look at `scrm deadletters`, fix "
            f"the producer, or let the lane dead-letter this burst and go on with `scrm deadletters skip --lane {lane}`"
        )
        self.lane = lane
        self.topic = topic
        self.partition = partition
        self.offset = offset


class PublishFailed(RuntimeError):
    """Kafka did not acknowledge every message of a batch's output; the batch is retried, not committed."""


class LaneFailed(RuntimeError):
    """A lane gave up: a transient failure (database or broker away) outlasted its retries. The process
    should exit non-zero so a supervisor restarts it; nothing of the failed batch was committed."""
