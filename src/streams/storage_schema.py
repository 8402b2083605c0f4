"""Every table of the platform database, by owning package (for migrations and tests)."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, MetaData

from alerts.tables import AlertBase
from ingest.deadletter_store import DeadLetterBase
from ingest.polling.cursors import PollCursorBase
from ingest.polling.health import PollHealthBase
from profile_store.api_keys import AccessBase
from profile_store.privacy import PrivacyBase
from profile_store.segments.store import SegmentBase
from profile_store.tables import ProfileBase
from streams.heartbeats import HeartbeatBase
from streams.intake_journal import IntakeJournalBase
from streams.retention_marks import RetentionMarkBase

ALL_METADATA = (ProfileBase.metadata, AlertBase.metadata, DeadLetterBase.metadata, IntakeJournalBase.metadata,
                PollCursorBase.metadata, PollHealthBase.metadata, HeartbeatBase.metadata, AccessBase.metadata,
                SegmentBase.metadata, PrivacyBase.metadata, RetentionMarkBase.metadata)


def combined_metadata() -> MetaData:
    """One ``MetaData`` holding a copy of every table (what the migrations must build)."""
    combined = MetaData()
    for metadata in ALL_METADATA:
        for table in metadata.tables.values():
            table.to_metadata(combined)
    return combined


def schema_drift(engine: Engine) -> list[Any]:
    """How the database's schema differs from the models (Alembic's autogenerate diff: tables, columns,
    indexes added or missing); empty when the migrations built exactly the models. Blocks."""
    with engine.connect() as connection:
        return list(compare_metadata(MigrationContext.configure(connection), combined_metadata()))
