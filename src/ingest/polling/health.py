"""What each poll connector did, kept in the platform database (``poll_health``, one row per connector) so
every process can show it: ``scrm serve`` and the API on Kafka read it for ``GET /v1/connectors``, whichever
process polls.

Counters add up across the poller's restarts (a new process starts from the stored row). ``last_error`` is
a reason (a status, a platform's error code, a wait too long), never a payload or a secret. Repository
functions take a keyword-only ``session`` and never commit.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict
from sqlalchemy import JSON, DateTime, String, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from ingest.polling.engine import PollStats
from sqlkit import as_aware, upsert_rows


class PollHealth(BaseModel):
    """One poll connector's record: totals of its rounds (a round drains every endpoint once), when the
    last one ended and the next is due, and its latest error. ``refused_until``: the platform refused the
    connector's credentials or settings, and it is not polled again before then."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    connector: str
    platform: str
    rounds: int = 0
    requests: int = 0
    pages: int = 0
    events: int = 0
    skipped: int = 0
    dead_letters: int = 0
    retries: int = 0
    waits: int = 0
    waited_seconds: float = 0.0
    errors: int = 0
    unavailable: tuple[str, ...] = ()
    """Endpoints the config does not enable, each ``endpoint: the missing setting``."""
    last_round_at: datetime | None = None
    last_round_events: int = 0
    next_round_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    refused_until: datetime | None = None

    def after_round(self, round_: PollStats, *, at: datetime, next_round_at: datetime | None,
                    refused_until: datetime | None) -> PollHealth:
        """This record plus one round (``round_``: what the engine did in it, see ``PollStats.since``),
        ended at ``at``."""
        changes: dict[str, Any] = {
            "rounds": self.rounds + 1,
            "requests": self.requests + round_.requests,
            "pages": self.pages + round_.pages,
            "events": self.events + round_.events,
            "skipped": self.skipped + round_.skipped,
            "dead_letters": self.dead_letters + round_.invalid,
            "retries": self.retries + round_.retries,
            "waits": self.waits + round_.waits,
            "waited_seconds": round(self.waited_seconds + round_.waited_seconds, 3),
            "errors": self.errors + round_.errors,
            "last_round_at": at,
            "last_round_events": round_.events,
            "next_round_at": next_round_at,
            "refused_until": refused_until,
        }
        if round_.errors:
            changes.update(last_error=round_.last_error, last_error_at=at)
        return self.model_copy(update=changes)

    def failed(self, round_: PollStats, reason: str, *, at: datetime, next_round_at: datetime | None) -> PollHealth:
        """This record after a round (``round_``: what it did until then) that failed on our side (the
        intake or the database unavailable)."""
        done = self.after_round(round_, at=at, next_round_at=next_round_at, refused_until=self.refused_until)
        return done.model_copy(update={"errors": done.errors + 1, "last_error": reason, "last_error_at": at})


class PollHealthBase(DeclarativeBase):
    """Declarative base of the pollers' health table."""


class PollHealthRow(PollHealthBase):
    """One poll connector's ``PollHealth`` as JSON, and when it was written."""

    __tablename__ = "poll_health"

    connector: Mapped[str] = mapped_column(String(128), primary_key=True)
    health: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def load_health(*, session: Session) -> dict[str, PollHealth]:
    """Every stored record, by connector name."""
    rows = session.execute(select(PollHealthRow.connector, PollHealthRow.health)).all()
    return {connector: PollHealth.model_validate(health) for connector, health in rows}


def health_records(*, session: Session) -> list[tuple[PollHealth, datetime]]:
    """Every stored record with when it was written, by connector name."""
    rows = session.execute(select(PollHealthRow.health, PollHealthRow.updated_at)
                           .order_by(PollHealthRow.connector)).all()
    return [(PollHealth.model_validate(health), as_aware(at)) for health, at in rows]


def save_health(health: PollHealth, at: datetime, *, session: Session) -> None:
    """Insert or replace the record of ``health.connector``."""
    row = {"connector": health.connector, "health": health.model_dump(mode="json"), "updated_at": at}
    upsert_rows(session, PollHealthRow.__table__, [row], ("connector",))  # type: ignore[arg-type]


class HealthStore(Protocol):
    """Where a poll runner keeps its connectors' records."""

    def load(self) -> dict[str, PollHealth]: ...

    def save(self, health: PollHealth) -> None: ...


class MemoryHealthStore:
    """Records in a dict (tests)."""

    def __init__(self) -> None:
        self.records: dict[str, PollHealth] = {}

    def load(self) -> dict[str, PollHealth]:
        return dict(self.records)

    def save(self, health: PollHealth) -> None:
        self.records[health.connector] = health


class SqlHealthStore:
    """``HealthStore`` on the platform database; each ``save`` is its own committed transaction."""

    def __init__(self, session_factory: sessionmaker[Session], *, clock: Callable[[], datetime]) -> None:
        self._sessions = session_factory
        self._clock = clock

    def load(self) -> dict[str, PollHealth]:
        with self._sessions() as session:
            return load_health(session=session)

    def save(self, health: PollHealth) -> None:
        with self._sessions.begin() as session:
            save_health(health, self._clock(), session=session)
