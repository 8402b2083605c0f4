"""On PostgreSQL too, the migrations build exactly the schema the models declare."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from profile_store.database import make_engine
from streams.migrate import upgrade
from streams.storage import open_storage
from streams.storage_schema import schema_drift

pytestmark = pytest.mark.integration


def test_a_migrated_postgres_database_matches_the_models(fresh_database_url: str) -> None:
    storage = open_storage(fresh_database_url, None)
    try:
        assert schema_drift(storage.engine) == []
    finally:
        storage.close()


def test_upgrading_postgres_rewrites_stored_event_keys_to_name_the_author(fresh_database_url: str) -> None:
    """Revision 0005 on PostgreSQL: old keys ``<platform>:<event_id>`` become ``<platform>:<author>/<event
    id>`` (even where an old key, ``u-2/e-1`` by ``u-1``, equals another event's new key), edges and the
    detectors' ledger follow, a ledger entry of an event never stored is dropped, its signal keeps no key."""
    engine = make_engine(fresh_database_url)
    rows = {
        "profile_events": [("weibo:e-1", "weibo:u-2"), ("weibo:u-2/e-1", "weibo:u-1")],
        "interaction_edges": [("weibo:u-2/e-1", "weibo:u-1", "weibo:e-1", None),
                              ("weibo:u-2/e-1#m0", "weibo:u-1", None, "weibo:bob")],
    }
    try:
        upgrade(engine, "9b4e0c7a2d18")
        with engine.begin() as connection:
            for key, identity in rows["profile_events"]:
                connection.execute(text(
                    "INSERT INTO profile_events (event_key, identity_key, occurred_at, thread_key, data) "
                    "VALUES (:key, :identity, now(), NULL, '{}')"), {"key": key, "identity": identity})
            for key, source, target, handle in rows["interaction_edges"]:
                connection.execute(text(
                    "INSERT INTO interaction_edges (event_key, source_identity, target_event_key, target_handle_key) "
                    "VALUES (:key, :source, :target, :handle)"),
                    {"key": key, "source": source, "target": target, "handle": handle})
            for key in ("weibo:e-1", "weibo:u-2/e-1", "weibo:gone"):
                connection.execute(text("INSERT INTO alert_event_ledger (event_key, seen_at) VALUES (:key, now())"),
                                   {"key": key})
            for alert_id, key in (("a-0", "weibo:e-1"), ("a-1", "weibo:gone")):
                connection.execute(text(
                    "INSERT INTO alert_signals (alert_id, event_key, incident_id, rule, occurred_at, recorded_at, data) "
                    "VALUES (:id, :key, NULL, 'risk_terms', now(), now(), '{}')"), {"id": alert_id, "key": key})
        upgrade(engine)
        with engine.connect() as connection:
            stored = set(connection.execute(text("SELECT event_key, post_key FROM profile_events")).all())
            edges = set(connection.execute(text("SELECT event_key, target_post_key FROM interaction_edges")).all())
            ledger = set(connection.execute(text("SELECT event_key FROM alert_event_ledger")).scalars())
            signals = set(connection.execute(text("SELECT alert_id, event_key FROM alert_signals")).all())
        assert schema_drift(engine) == []
    finally:
        engine.dispose()
    assert stored == {("weibo:u-2/e-1", "weibo:e-1"), ("weibo:u-1/u-2%2Fe-1", "weibo:u-2/e-1")}
    assert edges == {("weibo:u-1/u-2%2Fe-1", "weibo:e-1"), ("weibo:u-1/u-2%2Fe-1#m0", None)}
    assert ledger == {"weibo:u-2/e-1", "weibo:u-1/u-2%2Fe-1"}
    assert signals == {("a-0", "weibo:u-2/e-1"), ("a-1", None)}
