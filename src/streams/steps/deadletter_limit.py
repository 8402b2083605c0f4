"""Dead-letter guard: stop a consumer that would dead-letter nearly everything (a bad deploy or a wrong
topic) instead of quietly draining a topic into the dead-letter queue.

Counted per input partition (one bad producer writing to one partition trips it even while the others
are healthy), with two limits, as arroyo's ``DlqLimit``: the share of dead letters among the partition's
last ``window`` records (once ``min_samples`` were seen), and a run of ``max_consecutive`` dead letters in a
row. A tripped guard raises ``DeadLetterRatioExceeded``; the way forward is ``scrm deadletters skip``
(an audited waiver, see ``streams.waivers``) or fixing the producer and restarting.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

from streams.exceptions import DeadLetterRatioExceeded


class DeadLetterLimits(BaseModel):
    """The guard's limits (``SCRM_PIPELINE__DEAD_LETTERS__MAX_RATIO=0.8`` …)."""

    model_config = ConfigDict(frozen=True)

    max_ratio: float = Field(default=0.5, gt=0.0, le=1.0, description="most dead letters among a partition's last `window` records")
    window: int = Field(default=1000, ge=10)
    min_samples: int = Field(default=100, ge=1, description="records a partition must have seen before the ratio counts")
    max_consecutive: int = Field(default=500, ge=1, description="most dead letters in a row on one partition")


@dataclass
class _Partition:
    outcomes: deque[bool]
    dead: int = 0
    consecutive: int = 0
    waived_through: int = -1


@dataclass
class DeadLetterLimit:
    """Per-partition outcome counters of one lane. Not thread-safe (one per lane loop)."""

    limits: DeadLetterLimits = field(default_factory=DeadLetterLimits)
    lane: str = "lane"
    _partitions: dict[tuple[str, int | None], _Partition] = field(default_factory=dict)

    def record(self, topic: str, partition: int | None, offset: int | None, dead_lettered: bool) -> None:
        """Count one record's outcome; raises ``DeadLetterRatioExceeded`` when a limit is passed. A record
        at or before a waived offset is not counted (its dead letter is still kept)."""
        part = self._partitions.get((topic, partition))
        if part is None:
            part = self._partitions[(topic, partition)] = _Partition(outcomes=deque(maxlen=self.limits.window))
        if offset is not None and offset <= part.waived_through:
            return
        if len(part.outcomes) == part.outcomes.maxlen and part.outcomes[0]:
            part.dead -= 1
        part.outcomes.append(dead_lettered)
        part.dead += dead_lettered
        part.consecutive = part.consecutive + 1 if dead_lettered else 0
        seen = len(part.outcomes)
        over_ratio = seen >= min(self.limits.min_samples, self.limits.window) and part.dead / seen > self.limits.max_ratio
        if over_ratio or part.consecutive >= self.limits.max_consecutive:
            what = (f"{part.consecutive} dead letters in a row" if not over_ratio
                    else f"{part.dead} of the last {seen} records dead-lettered (limit {self.limits.max_ratio:.0%})")
            raise DeadLetterRatioExceeded(self.lane, topic, partition, offset, what)

    def waive(self, topic: str, partition: int | None, through_offset: int) -> None:
        """Leave records of that partition up to ``through_offset`` uncounted, and start its counts anew."""
        self._partitions[(topic, partition)] = _Partition(outcomes=deque(maxlen=self.limits.window),
                                                          waived_through=through_offset)
