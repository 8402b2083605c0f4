"""Connector health: what each webhook receiver took in, in this process. Pure, thread-safe.

Counters live in memory: each API process reports its own deliveries (behind a load balancer, ask each
one, or sum them), and a restart starts them from zero. ``last_error`` is a reason (a signature that did
not match, a dead-lettered body's parse error, an intake or pull failure), never a payload or a secret.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

WINDOW = timedelta(minutes=1)


class ConnectorReport(BaseModel):
    """One connector's health, as ``GET /v1/connectors`` shows it."""

    model_config = ConfigDict(frozen=True)

    deliveries: int = 0
    deliveries_last_minute: int = 0
    events: int = 0
    skipped: int = 0
    signature_failures: int = 0
    dead_letters: int = 0
    errors: int = 0
    last_delivery_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None


@dataclass
class _Counters:
    """A connector's report so far (``deliveries_last_minute`` is derived from ``recent`` when read)."""

    report: ConnectorReport = field(default_factory=ConnectorReport)
    recent: deque[datetime] = field(default_factory=deque)

    def add(self, **changes: object) -> None:
        self.report = self.report.model_copy(update=changes)


class ConnectorHealth:
    """Counts per connector name; every call names the time it happened (the caller's clock)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_name: dict[str, _Counters] = {}

    def delivered(self, name: str, *, events: int, skipped: int, at: datetime) -> None:
        """A verified delivery (or a 微信客服 pull) whose ``events`` are durable; ``skipped`` parts."""
        with self._lock:
            counters = self._counters(name)
            now = counters.report
            counters.add(deliveries=now.deliveries + 1, events=now.events + events, skipped=now.skipped + skipped,
                         last_delivery_at=at)
            counters.recent.append(at)
            _forget_before(counters.recent, at - WINDOW)

    def signature_failed(self, name: str, reason: str, at: datetime) -> None:
        """A request refused for its signature (nothing stored)."""
        with self._lock:
            counters = self._counters(name)
            counters.add(signature_failures=counters.report.signature_failures + 1,
                         last_error=f"signature: {reason}", last_error_at=at)

    def dead_lettered(self, name: str, reason: str, at: datetime, *, count: int = 1) -> None:
        """``count`` signed inputs that could not be read, kept as dead letters."""
        with self._lock:
            counters = self._counters(name)
            counters.add(dead_letters=counters.report.dead_letters + count, last_error=f"dead letter: {reason}",
                         last_error_at=at)

    def failed(self, name: str, reason: str, at: datetime) -> None:
        """A failure on our side (the intake unavailable, a pull that failed): the sender retries."""
        with self._lock:
            counters = self._counters(name)
            counters.add(errors=counters.report.errors + 1, last_error=reason, last_error_at=at)

    def report(self, name: str, now: datetime) -> ConnectorReport:
        """The counters of ``name`` (zeros for a connector that saw nothing), deliveries in the minute
        before ``now``."""
        with self._lock:
            counters = self._by_name.get(name) or _Counters()
            recent = sum(1 for at in counters.recent if at > now - WINDOW)
            return counters.report.model_copy(update={"deliveries_last_minute": recent})

    def _counters(self, name: str) -> _Counters:
        return self._by_name.setdefault(name, _Counters())


def _forget_before(times: deque[datetime], cutoff: datetime) -> None:
    while times and times[0] <= cutoff:
        times.popleft()
