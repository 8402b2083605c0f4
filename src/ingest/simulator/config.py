"""The simulator's configuration: ``SimulatorConfig`` and its default start instant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

DEFAULT_START = datetime(2026, 11, 1, tzinfo=UTC)
"""Default event-time start of the simulated stream (2026-11-01T00:00Z)."""


@dataclass(frozen=True)
class SimulatorConfig:
    """Knobs of the simulated stream; every field has a sensible default.

    ``customers`` is the number of people in the author population (about 5% of them have a second platform
    account, WeChat users may also chat through WeCom). ``start`` and ``crisis_at`` must be timezone-aware.
    ``invalid_ratio`` is the share of records from ``raw_records`` that are deliberately invalid bytes.
    Raises ``ValueError`` on out-of-range values.
    """

    seed: int = 7
    brands: tuple[str, ...] = ("acme", "lumo")
    customers: int = 500
    start: datetime = DEFAULT_START
    events_per_hour: float = 600.0
    crisis_at: datetime | None = None
    invalid_ratio: float = 0.0

    def __post_init__(self) -> None:
        if not self.brands or any(not b for b in self.brands):
            raise ValueError("brands must be a non-empty tuple of non-empty names")
        if self.customers < 1:
            raise ValueError("customers must be at least 1")
        if self.start.tzinfo is None or self.start.utcoffset() is None:
            raise ValueError("start must be timezone-aware")
        if self.crisis_at is not None and (
            self.crisis_at.tzinfo is None or self.crisis_at.utcoffset() is None
        ):
            raise ValueError("crisis_at must be timezone-aware")
        if not self.events_per_hour > 0:
            raise ValueError("events_per_hour must be positive")
        if not 0.0 <= self.invalid_ratio < 1.0:
            raise ValueError("invalid_ratio must be in [0, 1)")
