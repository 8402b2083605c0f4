"""The migrations build exactly the schema the SQLAlchemy models declare, and carry data across."""

from __future__ import annotations

import importlib
import json
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import text
from sqlalchemy.orm import Session

from alerts.config import AlertingConfig
from alerts.contracts import Alert
from alerts.repository import claim_events
from alerts.tables import IncidentRow
from ingest.contracts import event_key
from profile_store.database import make_engine
from profile_store.repository import iter_resolved_edges
from streams.alert_batch import alert_enriched_batch
from streams.contracts import EnrichedEvent
from streams.migrate import upgrade
from streams.storage import open_storage
from streams.storage_schema import schema_drift
from streams.unit_of_work import apply_enriched_batch

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


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
            assert claim_events(["weibo:u-1/e-1", "weibo:u-1/e-2"], session=session) == {"weibo:u-1/e-2"}
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


def _old_format_rows(engine, events: list[EnrichedEvent], handles: dict[str, str]) -> None:
    """Store ``events`` as revision 0004 did: keyed ``<platform>:<event_id>``, with their authors, their
    interaction edges, the detectors' ledger (plus an event the profile store never stored) and a signal
    each (one of them for that unstored event)."""
    identities = sa.table("identities", *(sa.column(c) for c in ("identity_key", "customer_id", "handle_key")),
                          sa.column("first_seen", sa.DateTime(timezone=True)))
    events_table = sa.table("profile_events", sa.column("event_key"), sa.column("identity_key"),
                            sa.column("occurred_at", sa.DateTime(timezone=True)), sa.column("thread_key"),
                            sa.column("data", sa.JSON))
    edges = sa.table("interaction_edges", *(sa.column(c) for c in
                                            ("event_key", "source_identity", "target_event_key", "target_handle_key")))
    ledger = sa.table("alert_event_ledger", sa.column("event_key"), sa.column("seen_at", sa.DateTime(timezone=True)))
    signals = sa.table("alert_signals", *(sa.column(c) for c in ("alert_id", "event_key", "incident_id", "rule")),
                       sa.column("occurred_at", sa.DateTime(timezone=True)),
                       sa.column("recorded_at", sa.DateTime(timezone=True)), sa.column("data", sa.JSON))
    old = {e.event.event_id: f"weibo:{e.event.event_id}" for e in events}
    with engine.begin() as connection:
        connection.execute(sa.insert(identities), [
            {"identity_key": e.event.identity_key, "customer_id": e.customer_id,
             "handle_key": f"weibo:{handles[e.event.author.id]}", "first_seen": e.event.occurred_at_utc}
            for e in events])
        connection.execute(sa.insert(events_table), [
            {"event_key": old[e.event.event_id], "identity_key": e.event.identity_key,
             "occurred_at": e.event.occurred_at_utc, "thread_key": None, "data": e.model_dump(mode="json")}
            for e in events])
        reply = next(e for e in events if e.event.parent_id)
        connection.execute(sa.insert(edges), [
            {"event_key": old[reply.event.event_id], "source_identity": reply.event.identity_key,
             "target_event_key": f"weibo:{reply.event.parent_id}", "target_handle_key": None},
            {"event_key": old[reply.event.event_id] + "#m0", "source_identity": reply.event.identity_key,
             "target_event_key": None, "target_handle_key": "weibo:bob"}])
        connection.execute(sa.insert(ledger), [{"event_key": key, "seen_at": T0} for key in [*old.values(), "weibo:gone"]])
        connection.execute(sa.insert(signals), [
            {"alert_id": f"a-{n}", "event_key": key, "incident_id": None, "rule": "risk_terms", "occurred_at": T0,
             "recorded_at": T0, "data": Alert(alert_id=f"a-{n}", rule="risk_terms", kind="crisis", severity=2,
                                              title="t", dedup_key="k", event_id=key.partition(":")[2],
                                              platform="weibo", occurred_at=T0).model_dump(mode="json")}
            for n, key in enumerate([old[reply.event.event_id], "weibo:gone"])])


def test_upgrading_rewrites_every_stored_event_key_to_name_the_author_and_a_replay_changes_nothing(
    sqlite_url, event_factory, enrich
):
    """Keys were ``<platform>:<event_id>``: after the upgrade every stored event, edge, ledger entry and
    signal is found under ``<platform>:<author>/<event id>``, even where an old key (``u-2/e-1`` by
    ``u-1``) equals another event's new key (``e-1`` by ``u-2``)."""
    parent, reply = enrich(
        event_factory(event_id="e-1", author={"id": "u-2", "handle": "bob"}, text="new phone", at=T0),
        event_factory(event_id="u-2/e-1", author={"id": "u-1", "handle": "ann"}, kind="reply", parent_id="e-1",
                      text="@bob 质量问题，我要投诉", at=T0 + timedelta(minutes=1)),
    )
    engine = make_engine(sqlite_url)
    try:
        upgrade(engine, "9b4e0c7a2d18")
        _old_format_rows(engine, [parent, reply], {"u-1": "ann", "u-2": "bob"})
        upgrade(engine)
        with engine.connect() as connection:
            stored = set(connection.execute(text("SELECT event_key, post_key FROM profile_events")).all())
            edges = set(connection.execute(text("SELECT event_key, target_post_key FROM interaction_edges")).all())
            ledger = set(connection.execute(text("SELECT event_key FROM alert_event_ledger")).scalars())
            signals = set(connection.execute(text("SELECT alert_id, event_key FROM alert_signals")).all())
        assert schema_drift(engine) == []
    finally:
        engine.dispose()
    new_parent, new_reply = "weibo:u-2/e-1", "weibo:u-1/u-2%2Fe-1"
    assert (parent.event.event_key, reply.event.event_key) == (new_parent, new_reply)
    assert stored == {(new_parent, "weibo:e-1"), (new_reply, "weibo:u-2/e-1")}
    assert edges == {(new_reply, "weibo:e-1"), (new_reply + "#m0", None)}
    assert ledger == {new_parent, new_reply}, "an entry whose event was never stored cannot be mapped: dropped"
    assert signals == {("a-0", new_reply), ("a-1", None)}

    storage = open_storage(sqlite_url, None)
    try:
        with storage.session_factory() as session:
            assert [pair for chunk in iter_resolved_edges(session=session) for pair in chunk] == [
                (reply.customer_id, parent.customer_id)] * 2
        applied = apply_enriched_batch([parent, reply], session_factory=storage.session_factory, analytics=None)
        judged = alert_enriched_batch([parent, reply], session_factory=storage.session_factory,
                                      config=AlertingConfig())
    finally:
        storage.close()
    assert applied.applied == () and applied.profiles == ()
    assert judged.fresh == frozenset() and [a.alert_id for a in judged.alerts] == ["a-0"]


def test_the_migration_writes_the_event_keys_the_application_computes():
    """Revision 0005 keeps a frozen copy of the key function; while its format is current the two agree
    (a new format needs a new migration, and this test then names the revision that wrote the old one)."""
    frozen = importlib.import_module("streams.migrations.versions.0005_event_keys_name_the_author").event_key_v2
    for ids in [("u-1", "d-7"), ("a/b", "c#m0"), ("用户", "帖子:1"), ("x" * 256, "y" * 512), ("%", "~")]:
        assert frozen("weibo", *ids) == event_key("weibo", *ids)


def test_upgrading_moves_the_kf_pull_cursors_into_poll_cursors_and_downgrading_moves_them_back(sqlite_url):
    from alembic import command

    from ingest.polling.cursors import kf_endpoint, load_cursor
    from streams.migrate import alembic_config

    engine = make_engine(sqlite_url)
    try:
        upgrade(engine, "6a3f9c1e7b52")
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO pull_cursors (connector, stream, cursor, updated_at) "
                "VALUES ('acme-kf', 'wk-1', 'cursor-4', '2026-11-01 09:00:00')"))
        upgrade(engine)
        with Session(engine) as session:
            stored = load_cursor("acme-kf", kf_endpoint("wk-1"), session=session)
        assert stored is not None and stored.watermark == "cursor-4"
        config = alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "6a3f9c1e7b52")
        with engine.connect() as connection:
            assert connection.execute(text("SELECT connector, stream, cursor FROM pull_cursors")).all() == [
                ("acme-kf", "wk-1", "cursor-4")]
            assert connection.execute(text("SELECT count(*) FROM poll_cursors")).scalar() == 0
    finally:
        engine.dispose()


def test_the_crm_records_migration_upgrades_under_stored_profiles_and_downgrades_with_data(sqlite_url):
    from alembic import command

    from profile_store.contracts import CrmRecord
    from profile_store.crm_records import crm_records_of, save_crm_records
    from streams.migrate import alembic_config

    engine = make_engine(sqlite_url)
    try:
        upgrade(engine, "9d4f1b6e2a73")
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO profiles (customer_id, display_name, lifecycle, influence, churn_risk, sentiment_ewma, "
                "event_count, first_seen, last_seen, data) VALUES ('c-1', NULL, 'prospect', 0, 0, 0, 1, "
                "'2026-11-01 09:00:00', '2026-11-01 09:00:00', '{}')"))
        upgrade(engine)
        record = CrmRecord(crm_id="C1", attributes={"tier": "gold", "visits": 3})
        with Session(engine) as session, session.begin():
            assert save_crm_records([record], at=T0, session=session) == {"C1"}
        with Session(engine) as session:
            assert crm_records_of(["C1"], session=session)["C1"].record == record
        config = alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "9d4f1b6e2a73")
        with engine.connect() as connection:
            assert not sa.inspect(connection).has_table("crm_records")
            assert connection.execute(text("SELECT customer_id FROM profiles")).all() == [("c-1",)]
        upgrade(engine)
        with Session(engine) as session:
            assert crm_records_of(["C1"], session=session) == {}, "the downgrade dropped the records"
    finally:
        engine.dispose()


def test_the_consents_migration_turns_stored_crm_consent_into_statements_of_the_crm_identities(sqlite_url):
    from profile_store.consents import statements_of
    from profile_store.contracts import Consent, CrmRecord

    engine = make_engine(sqlite_url)
    try:
        upgrade(engine, "5e2a9c7d3b14")
        with engine.begin() as connection:
            for crm_id, consent in (("C1", Consent(marketing=False, contact=True)), ("C2", Consent())):
                record = CrmRecord(crm_id=crm_id, consent=consent)
                connection.execute(text("INSERT INTO crm_records (crm_id, data, created_at, updated_at) "
                                        "VALUES (:id, :data, :at, :at)"),
                                   {"id": crm_id, "data": record.model_dump_json(), "at": T0})
        upgrade(engine)
        with Session(engine) as session:
            found = statements_of(["crm:C1", "crm:C2"], session=session)
        assert [(s.identity_key, s.purpose, s.granted, s.source, s.updated_at) for s in found] == [
            ("crm:C1", "contact", True, "crm", T0), ("crm:C1", "marketing", False, "crm", T0)]
    finally:
        engine.dispose()
