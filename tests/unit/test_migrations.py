"""The migrations build exactly the schema the SQLAlchemy models declare, and carry data across."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from alerts.repository import claim_events
from alerts.tables import IncidentRow
from profile_store.database import make_engine
from streams.migrate import upgrade
from streams.storage import open_storage
from streams.storage_schema import schema_drift


def test_a_migrated_database_has_every_table_column_and_index_the_models_declare_and_no_other(sqlite_url):
    storage = open_storage(sqlite_url, None)
    try:
        assert schema_drift(storage.engine) == []
    finally:
        storage.close()


def test_upgrading_enters_every_stored_event_in_the_detectors_ledger(sqlite_url):
    """Before revision 0003 alerts were raised in the transaction that stored an event for profiles: the
    new alert lane must see those events as already counted, not raise their alerts again."""
    engine = make_engine(sqlite_url)
    try:
        upgrade(engine, "7c1e2b9d4f30")
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO profile_events (event_key, identity_key, occurred_at, thread_key, data) "
                "VALUES ('weibo:e-1', 'weibo:u-1', '2026-11-01 09:00:00', NULL, '{}')"))
        upgrade(engine)
        with Session(engine) as session:
            assert claim_events(["weibo:e-1", "weibo:e-2"], session=session) == {"weibo:e-2"}
    finally:
        engine.dispose()


def test_upgrading_gives_stored_incidents_their_escalation_level_and_clock(sqlite_url):
    engine = make_engine(sqlite_url)
    document = {"opened_at": "2026-11-01T09:00:00+00:00", "escalated_at": "2026-11-01T09:20:00+00:00",
                "snoozed_until": None, "escalation_level": 2}
    try:
        upgrade(engine, "3f8a6d21c5e7")
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO alert_incidents (incident_id, dedup_key, open_key, rule, kind, severity, state, brand, "
                "assignee, team, first_seen, last_seen, opened_at, updated_at, version, data) VALUES ('i-1', 'k', "
                "'k', 'negative_post', 'crisis', 4, 'open', NULL, NULL, NULL, '2026-11-01 09:00:00', "
                "'2026-11-01 09:00:00', '2026-11-01 09:00:00', '2026-11-01 09:20:00', 3, :data)"),
                {"data": json.dumps(document)})
        upgrade(engine)
        with Session(engine) as session:
            row = session.get(IncidentRow, "i-1")
            assert row is not None
            assert (row.escalation_level, row.escalation_since.replace(tzinfo=UTC)) == (
                2, datetime(2026, 11, 1, 9, 20, tzinfo=UTC))
    finally:
        engine.dispose()
