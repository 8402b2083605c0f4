"""Dead-letter ratio guard: stop a consumer that would dead-letter nearly everything (a bad deploy or a
wrong topic) instead of quietly draining a topic into the dead-letter queue."""

from __future__ import annotations

from collections import deque

from streams.exceptions import DeadLetterRatioExceeded


class DeadLetterLimit:
    """Tracks the last ``window`` outcomes; ``record`` raises ``DeadLetterRatioExceeded`` once at least
    ``min_samples`` (at most the window) were seen and more than ``max_ratio`` of the window was dead-lettered. Not thread-safe
    (one per consumer)."""

    def __init__(self, *, max_ratio: float = 0.5, window: int = 1000, min_samples: int = 100) -> None:
        self._outcomes: deque[bool] = deque(maxlen=window)
        self._dead = 0
        self._max_ratio = max_ratio
        self._min_samples = min(min_samples, window)

    def record(self, dead_lettered: bool) -> None:
        if len(self._outcomes) == self._outcomes.maxlen and self._outcomes[0]:
            self._dead -= 1
        self._outcomes.append(dead_lettered)
        self._dead += dead_lettered
        seen = len(self._outcomes)
        if seen >= self._min_samples and self._dead / seen > self._max_ratio:
            raise DeadLetterRatioExceeded(
                f"{self._dead} of the last {seen} messages were dead-lettered (limit {self._max_ratio:.0%}); "
                "stopping so a bad deploy or a wrong topic does not drain into the dead-letter queue"
            )
