"""Every table of the platform database, by owning package (for migrations and tests)."""

from __future__ import annotations

from alerts.tables import AlertBase
from ingest.deadletter_store import DeadLetterBase
from profile_store.tables import ProfileBase

ALL_METADATA = (ProfileBase.metadata, AlertBase.metadata, DeadLetterBase.metadata)
