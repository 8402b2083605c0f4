"""Lane heartbeats: every Kafka worker writes its lanes' counters to the platform database every few
seconds (``lane_heartbeats``, one row per worker and lane), so the API, which runs no lane, can show the
pipeline (``GET /v1/status``) and judge it (``/readyz``) as the embedded runtime does in-process.

A worker that stops cleanly deletes its rows; a killed one's rows go stale: reported as silent by
``heartbeat_problems`` for ``FORGET_AFTER``, then ignored. Counters are the worker's since it started;
the summary adds up the fresh rows of every worker. Repository functions take a keyword-only ``session``
and never commit.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import JSON, DateTime, String, delete, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from sqlkit import upsert_rows
from streams.health import LaneWatch
from streams.loop import LaneLoop

log = logging.getLogger(__name__)

FRESH_WITHIN = timedelta(seconds=30)
"""A row older than this is a silent worker (it writes every ``heartbeat_seconds``, default 5)."""
FORGET_AFTER = timedelta(minutes=10)
"""A silent worker's rows are ignored after this (a worker killed for good, not restarted)."""
COUNTERS = ("records", "batches", "published", "dead_lettered", "suppressed", "poison", "retries", "waiting")


class LaneBeat(BaseModel):
    """One lane of one worker at ``at``: its ``LaneStats`` counters and its readiness ``problem``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    worker: str
    lane: str
    records: int = 0
    batches: int = 0
    published: int = 0
    dead_lettered: int = 0
    suppressed: int = 0
    poison: int = 0
    retries: int = 0
    busy_seconds: float = 0.0
    waiting: int = 0
    problem: str | None = None
    started_at: datetime
    at: datetime


class HeartbeatBase(DeclarativeBase):
    """Declarative base of the heartbeats table."""


class LaneHeartbeatRow(HeartbeatBase):
    __tablename__ = "lane_heartbeats"

    worker: Mapped[str] = mapped_column(String(256), primary_key=True)
    lane: Mapped[str] = mapped_column(String(64), primary_key=True)
    beat: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def save_beats(beats: Sequence[LaneBeat], *, session: Session) -> None:
    """Insert or replace the rows of ``beats``."""
    rows = [{"worker": b.worker, "lane": b.lane, "beat": b.model_dump(mode="json"), "updated_at": b.at} for b in beats]
    if rows:
        upsert_rows(session, LaneHeartbeatRow.__table__, rows, ("worker", "lane"))  # type: ignore[arg-type]


def load_beats(*, session: Session) -> list[LaneBeat]:
    """Every stored row."""
    return [LaneBeat.model_validate(beat) for beat in session.scalars(select(LaneHeartbeatRow.beat))]


def forget_worker(worker: str, *, session: Session) -> None:
    """Delete ``worker``'s rows (it stops cleanly)."""
    session.execute(delete(LaneHeartbeatRow).where(LaneHeartbeatRow.worker == worker))


def beats_of(lanes: Sequence[LaneLoop], watch: LaneWatch, *, worker: str, started_at: datetime,
             at: datetime) -> list[LaneBeat]:
    """The beats of ``lanes`` now."""
    return [LaneBeat(worker=worker, lane=lane.name, **{name: getattr(lane.stats, name) for name in COUNTERS},
                     busy_seconds=round(lane.stats.busy_seconds, 3), problem=watch.problem_of(lane),
                     started_at=started_at, at=at) for lane in lanes]


def pipeline_summary(beats: Sequence[LaneBeat], now: datetime) -> dict[str, Any] | None:
    """The fresh beats added up in the shape of the embedded runtime's counters (``received`` = the enrich
    lane's records, ``processed`` the apply lane's, ``alerts`` what the alert lane published, ...), with
    ``workers`` and per-lane totals; ``None`` when no worker beat recently."""
    fresh = [b for b in beats if now - b.at <= FRESH_WITHIN]
    if not fresh:
        return None
    lanes: dict[str, dict[str, float]] = {}
    for beat in fresh:
        totals = lanes.setdefault(beat.lane, dict.fromkeys((*COUNTERS, "busy_seconds", "workers"), 0.0))
        for name in (*COUNTERS, "busy_seconds"):
            totals[name] += getattr(beat, name)
        totals["workers"] += 1
    apply_rate = sum(b.records / max(1.0, (b.at - b.started_at).total_seconds()) for b in fresh if b.lane == "apply")

    def lane(name: str, field: str) -> float:
        return lanes.get(name, {}).get(field, 0.0)

    return {
        "received": lane("enrich", "records"),
        "processed": lane("apply", "records"),
        "dead_lettered": sum(totals["dead_lettered"] for totals in lanes.values()),
        "suppressed": sum(totals["suppressed"] for totals in lanes.values()),
        "alerts": lane("alert", "published") - lane("alert", "dead_lettered"),
        "batches": sum(totals["batches"] for totals in lanes.values()),
        "waiting": sum(totals["waiting"] for totals in lanes.values()),
        "events_per_second": round(apply_rate, 1),
        "workers": len({b.worker for b in fresh}),
        "lanes": lanes,
    }


def heartbeat_problems(beats: Sequence[LaneBeat], now: datetime) -> list[str]:
    """What keeps the Kafka pipeline from its work, as its workers last said: stalled lanes, and workers
    silent for longer than ``FRESH_WITHIN`` (within ``FORGET_AFTER``)."""
    found = []
    for beat in sorted(beats, key=lambda b: (b.worker, b.lane)):
        age = now - beat.at
        if age > FORGET_AFTER:
            continue
        if age > FRESH_WITHIN:
            found.append(f"worker {beat.worker} lane {beat.lane}: no heartbeat for {age.total_seconds():.0f} s")
        elif beat.problem:
            found.append(f"worker {beat.worker} lane {beat.problem}")
    return found


class HeartbeatWriter:
    """Writes a worker's beats every ``interval`` seconds on its own thread (``run``) and deletes them when
    stopped. A database that does not answer costs a logged warning, never the worker."""

    def __init__(self, lanes: Sequence[LaneLoop], watch: LaneWatch, session_factory: sessionmaker[Session], *,
                 worker: str, interval: float = 5.0, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._lanes = tuple(lanes)
        self._watch = watch
        self._sessions = session_factory
        self._worker = worker
        self._interval = interval
        self._clock = clock
        self._started = clock()

    def beat(self) -> None:
        """Write the beats now."""
        beats = beats_of(self._lanes, self._watch, worker=self._worker, started_at=self._started, at=self._clock())
        with self._sessions.begin() as session:
            save_beats(beats, session=session)

    def run(self, stop: threading.Event) -> None:
        """Beat until ``stop`` is set, then delete this worker's rows."""
        while True:
            try:
                self.beat()
            except SQLAlchemyError as exc:
                log.warning("heartbeat not written: %s", type(exc).__name__)
            if stop.wait(self._interval):
                break
        try:
            with self._sessions.begin() as session:
                forget_worker(self._worker, session=session)
        except SQLAlchemyError as exc:
            log.warning("heartbeat rows not deleted: %s", type(exc).__name__)


class WorkerLanes:
    """The Kafka workers' lanes as the API sees them, read from the heartbeats at each call."""

    def __init__(self, session_factory: sessionmaker[Session], *,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._sessions = session_factory
        self._clock = clock

    def summary(self) -> dict[str, Any] | None:
        """``pipeline_summary`` of the stored beats (``None`` when none is fresh)."""
        return pipeline_summary(self._beats(), self._clock())

    def problems(self) -> list[str]:
        """``heartbeat_problems`` of the stored beats (a database that does not answer is the database
        check's problem, not this one's)."""
        try:
            return heartbeat_problems(self._beats(), self._clock())
        except SQLAlchemyError:
            return []

    def _beats(self) -> list[LaneBeat]:
        with self._sessions() as session:
            return load_beats(session=session)
