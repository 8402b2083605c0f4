"""Opening the durable state both runtimes write: the SQL database (profiles, alerts, dead letters) and
the analytics store."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from analytics.client import AnalyticsClient, connect
from analytics.schema import migrate
from profile_store.database import make_engine, make_session_factory
from streams.loop import cause_of
from streams.migrate import upgrade


@dataclass(frozen=True)
class Storage:
    """Open handles to durable state; ``close`` releases them."""

    engine: Engine
    session_factory: sessionmaker[Session]
    analytics: AnalyticsClient | None

    def problems(self) -> list[str]:
        """Empty when the database answers a trivial query, else one line saying it does not (readiness).
        Blocks for at most the connection's timeout."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            return [f"database: {type(exc).__name__}: {cause_of(exc)}"]
        return []

    def close(self) -> None:
        if self.analytics is not None:
            self.analytics.close()
        self.engine.dispose()


def open_storage(database_url: str, analytics_dsn: str | None) -> Storage:
    """Connect, and migrate the database to the current schema. Blocks; idempotent."""
    engine = make_engine(database_url)
    upgrade(engine)
    analytics = connect(analytics_dsn) if analytics_dsn else None
    if analytics is not None:
        migrate(analytics)
    return Storage(engine=engine, session_factory=make_session_factory(engine), analytics=analytics)
