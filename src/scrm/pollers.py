"""The poll runner of a deployable, on the platform database's cursors and health (composition only)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from ingest.connectors import PollConnector
from ingest.polling.cursors import SqlCursorStore
from ingest.polling.health import SqlHealthStore
from ingest.polling.runner import PollRunner
from ingest.sink import IntakeSink


def now_utc() -> datetime:
    return datetime.now(UTC)


def poll_runner(connectors: Mapping[str, PollConnector], sink: IntakeSink,
                session_factory: sessionmaker[Session]) -> PollRunner:
    """A runner of ``connectors`` into ``sink``, with cursors and health in ``session_factory``'s database."""
    return PollRunner(connectors, sink=sink, cursors=SqlCursorStore(session_factory, clock=now_utc),
                      health=SqlHealthStore(session_factory, clock=now_utc), clock=now_utc)
