"""The retention policy and its job on SQLite + chDB: ages count from when a row was stored (wall clock),
never from the event's time; old text is blanked and old rows deleted in every store, while recent rows
(replays of old events included), profiles and rollups stay as they were; a dry run changes nothing."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select, text, update

from alerts.contracts import Alert, Incident
from alerts.repository import record_signals, save_incidents
from alerts.tables import IncidentRow, OutboxRow, SignalRow
from analytics.client import AnalyticsClient, connect
from analytics.schema import migrate
from analytics.writer import write_events
from ingest.deadletter import DeadLetter
from ingest.deadletter_store import DeadLetterRow, record_dead_letters
from profile_store.tables import InteractionEdgeRow, ProfileEventRow, ProfileRow
from streams.jobs.retention import RetentionCounts, apply_retention
from streams.settings import EmbeddedSettings, WorkerSettings
from streams.steps.analytics import event_row
from streams.steps.retention import RetentionPolicy, plan_retention, topic_retention_ms
from streams.storage import Storage
from streams.topics import DEADLETTER, PROFILES, RAW_EVENTS, SEGMENT_CHANGES, TOPIC_SPECS
from streams.unit_of_work import apply_enriched_batch

NOW = datetime(2027, 6, 1, 12, 0, tzinfo=UTC)
POLICY = RetentionPolicy(raw_text_days=180, events_days=730, deadletters_days=30)
DAY_MS = 86_400_000


# -- the policy and the plan (pure) ---------------------------------------------------------------------------

def test_the_plan_cuts_each_kind_at_its_age_on_the_wall_clock_and_none_keeps_for_ever():
    plan = plan_retention(RetentionPolicy(raw_text_days=10, events_days=None, deadletters_days=3), NOW)
    assert (plan.text_before, plan.events_before, plan.deadletters_before) == (
        NOW - timedelta(days=10), None, NOW - timedelta(days=3))


def test_a_plan_needs_an_aware_time_and_is_in_utc():
    with pytest.raises(ValueError):
        plan_retention(POLICY, datetime(2027, 6, 1, 12, 0))
    local = NOW.astimezone(timezone(timedelta(hours=8)))
    assert plan_retention(POLICY, local).text_before == NOW - timedelta(days=180)
    assert plan_retention(POLICY, local).now.tzinfo == UTC


def test_topics_keep_messages_at_most_as_long_as_what_they_carry_and_compacted_ones_have_no_time_limit():
    specs = {spec.name: spec for spec in TOPIC_SPECS}
    policy = RetentionPolicy(raw_text_days=5, events_days=20, deadletters_days=2, topic_days=7)
    assert specs[RAW_EVENTS].configs(policy)["retention.ms"] == str(5 * DAY_MS)
    assert specs[DEADLETTER].configs(policy)["retention.ms"] == str(2 * DAY_MS)
    assert specs[SEGMENT_CHANGES].configs(policy)["retention.ms"] == str(7 * DAY_MS)
    compacted = specs[PROFILES].configs(policy)
    assert compacted["cleanup.policy"] == "compact" and "retention.ms" not in compacted
    assert compacted["max.compaction.lag.ms"] == str(DAY_MS), "an erasure's tombstones compact within a day"
    assert topic_retention_ms(("text",), RetentionPolicy(raw_text_days=None, topic_days=None)) == -1


def test_the_policy_is_set_from_the_environment_on_every_deployable(monkeypatch):
    monkeypatch.setenv("SCRM_PIPELINE__RETENTION__RAW_TEXT_DAYS", "90")
    monkeypatch.setenv("SCRM_PIPELINE__RETENTION__EVENTS_DAYS", "forever")
    monkeypatch.setenv("SCRM_PIPELINE__RETENTION_INTERVAL_SECONDS", "60")
    for settings in (WorkerSettings(), EmbeddedSettings()):
        assert settings.pipeline.retention.raw_text_days == 90
        assert settings.pipeline.retention.events_days is None
        assert settings.pipeline.retention_interval_seconds == 60
    assert WorkerSettings().pipeline.retention.deadletters_days == 30


# -- the job on SQLite + chDB ---------------------------------------------------------------------------------

@pytest.fixture
def client(chdb_storage_dsn: str) -> Iterator[AnalyticsClient]:
    opened = connect(chdb_storage_dsn, f"scrm_retention_{uuid.uuid4().hex[:10]}")
    migrate(opened)
    yield opened
    opened.command(f"DROP DATABASE IF EXISTS {opened.database} SYNC")
    opened.close()


def _stored(storage: Storage, key: str, at: datetime) -> None:
    with storage.session_factory.begin() as session:
        session.execute(update(ProfileEventRow).where(ProfileEventRow.event_key == key).values(stored_at=at))
        session.execute(update(InteractionEdgeRow).where(InteractionEdgeRow.event_key.startswith(key))
                        .values(stored_at=at))


def _events(storage: Storage) -> dict[str, dict[str, Any]]:
    with storage.session_factory() as session:
        return {row.event_key: row.data["event"] for row in session.scalars(select(ProfileEventRow))}


def _profiles(storage: Storage) -> dict[str, Any]:
    with storage.session_factory() as session:
        return {row.customer_id: row.data for row in session.scalars(select(ProfileRow))}


def _alert(alert_id: str, text: str) -> Alert:
    return Alert(alert_id=alert_id, rule="negative_post", kind="crisis", severity=3, title="Negative post by @a",
                 dedup_key=f"k-{alert_id}", event_id="e", platform="weibo", occurred_at=NOW - timedelta(days=900),
                 evidence={"text": text, "seed_posts": [{"author": "a", "text": text}], "topics": ["refund"]})


def _incident(incident_id: str, evidence: dict[str, Any], updated_at: datetime) -> Incident:
    return Incident(incident_id=incident_id, dedup_key=f"d-{incident_id}", rule="negative_post", kind="crisis",
                    severity=3, title="Negative post", first_seen=NOW, last_seen=NOW, opened_at=updated_at,
                    updated_at=updated_at, evidence=evidence)


def _letter(offset: int, failed_at: datetime) -> DeadLetter:
    return DeadLetter(original=b"{bad json " + str(offset).encode(), error="not JSON", stage="decode",
                      source_topic="scrm.events.raw", partition=0, offset=offset, failed_at=failed_at)


@pytest.fixture
def stores(storage: Storage, client: AnalyticsClient, enriched_factory) -> dict[str, Any]:
    """Events stored 200 days ago (text due), 800 days ago (due for deletion) and just now though they
    happened 900 days ago (a replay), in SQL and ClickHouse; alerts, incidents and dead letters old and new."""
    long_ago = NOW - timedelta(days=900)
    brand = f"b{uuid.uuid4().hex[:8]}"
    made = {name: enriched_factory(at=long_ago + timedelta(minutes=n), brand=brand, text=f"{name} text @bob",
                                   parent_id="p-1", raw={"text": f"{name} text"}, author={"id": f"u-{name}"},
                                   label="negative", score=-0.8)
            for n, name in enumerate(("aged", "ancient", "replayed"))}
    apply_enriched_batch(list(made.values()), session_factory=storage.session_factory, analytics=None)
    stored = {"aged": NOW - timedelta(days=200), "ancient": NOW - timedelta(days=800), "replayed": NOW - timedelta(hours=1)}
    for name, at in stored.items():
        _stored(storage, made[name].event.event_key, at)
    write_events(client, [event_row(made[name], ingested_at=at) for name, at in stored.items()])
    with storage.session_factory.begin() as session:
        record_signals([_alert("a-old", "broken phone"), _alert("a-new", "fresh complaint")], session=session)
        session.execute(text("UPDATE alert_signals SET recorded_at = :at WHERE alert_id = 'a-old'"),
                        {"at": NOW - timedelta(days=181)})
        save_incidents([(_incident("i-old", {"latest": {"negative_post": {"text": "broken phone"}}},
                                   NOW - timedelta(days=181)), "opened"),
                        (_incident("i-new", {"text": "fresh complaint"}, NOW - timedelta(days=1)), "opened")],
                       session=session)
        session.execute(text("UPDATE alert_outbox SET created_at = :at"), {"at": NOW - timedelta(days=181)})
        record_dead_letters([_letter(1, NOW - timedelta(days=31)), _letter(2, NOW - timedelta(days=29))],
                            session=session)
    return {"made": made, "brand": brand}


def _rollup(client: AnalyticsClient, brand: str) -> tuple[Any, ...]:
    return client.query(f"SELECT sum(events), sum(negative) FROM {client.database}.events_hour "
                        "WHERE brand = {b:String}", parameters={"b": brand})[1][0]


def _clickhouse_texts(client: AnalyticsClient) -> dict[str, str]:
    return dict(client.query(f"SELECT event_key, text FROM {client.database}.events")[1])


def _evidence(storage: Storage) -> dict[str, Any]:
    """Every stored evidence by ``<table>:<id>`` (the outbox's incident snapshots included)."""
    with storage.session_factory() as session:
        found = {f"signal:{row.alert_id}": row.data["evidence"] for row in session.scalars(select(SignalRow))}
        found |= {f"incident:{row.incident_id}": row.data["evidence"] for row in session.scalars(select(IncidentRow))}
        found |= {f"outbox:{row.incident_id}": row.data["evidence"] for row in session.scalars(select(OutboxRow))}
    return found


def test_old_text_is_blanked_and_old_rows_deleted_by_when_they_were_stored_and_aggregates_stay(storage, client, stores):
    made = stores["made"]
    keys = {name: e.event.event_key for name, e in made.items()}
    profiles, rollup = _profiles(storage), _rollup(client, stores["brand"])

    counts = apply_retention(storage.session_factory, client, POLICY, now=NOW)

    assert counts == RetentionCounts(event_texts=1, alert_evidence=4, events=1, edges=2, dead_letters=1,
                                     analytics_texts=1, analytics_events=1)
    events = _events(storage)
    assert set(events) == {keys["aged"], keys["replayed"]}
    assert (events[keys["aged"]]["text"], events[keys["aged"]]["raw"]) == (None, None)
    assert events[keys["aged"]]["author"]["id"] == "u-aged"  # the rest of the event stays
    assert events[keys["replayed"]]["text"] == "replayed text @bob"  # happened long ago, stored just now
    assert _clickhouse_texts(client) == {keys["aged"]: "", keys["replayed"]: "replayed text @bob"}
    with storage.session_factory() as session:
        assert {e.split("#")[0] for e in session.scalars(select(InteractionEdgeRow.event_key))} == {
            keys["aged"], keys["replayed"]}
        assert list(session.scalars(select(DeadLetterRow.offset))) == [2]
    evidence = _evidence(storage)
    assert evidence["signal:a-old"] == {"text": None, "seed_posts": [{"author": "a", "text": None}], "topics": ["refund"]}
    assert evidence["signal:a-new"]["text"] == "fresh complaint"
    assert evidence["incident:i-old"]["latest"]["negative_post"]["text"] is None
    assert evidence["incident:i-new"] == {"text": "fresh complaint"}  # changed yesterday: kept
    assert evidence["outbox:i-new"] == {"text": None}  # its outbox row was written long ago
    assert _profiles(storage) == profiles
    assert _rollup(client, stores["brand"]) == rollup == (3, 3)


def test_a_second_pass_finds_nothing_left_to_do(storage, client, stores):
    apply_retention(storage.session_factory, client, POLICY, now=NOW)
    assert apply_retention(storage.session_factory, client, POLICY, now=NOW) == RetentionCounts()


def test_a_dry_run_counts_what_a_pass_would_do_and_changes_nothing(storage, client, stores):
    before = (_events(storage), _evidence(storage), _clickhouse_texts(client))

    counted = apply_retention(storage.session_factory, client, POLICY, now=NOW, dry_run=True)

    assert (_events(storage), _evidence(storage), _clickhouse_texts(client)) == before
    with storage.session_factory() as session:
        assert len(list(session.scalars(select(DeadLetterRow.id)))) == 2
        assert list(session.execute(text("SELECT * FROM retention_marks"))) == []
    assert counted == apply_retention(storage.session_factory, client, POLICY, now=NOW)


def test_text_newer_than_the_last_pass_is_blanked_when_its_turn_comes(storage, client, stores):
    """A pass resumes from where the last one stopped: what was stored since is blanked later, not skipped."""
    apply_retention(storage.session_factory, client, POLICY, now=NOW)
    key = stores["made"]["replayed"].event.event_key
    assert apply_retention(storage.session_factory, None, POLICY, now=NOW + timedelta(days=181)).event_texts == 1
    assert _events(storage)[key]["text"] is None


def test_pages_smaller_than_the_work_still_finish_it(storage, client, stores):
    counts = apply_retention(storage.session_factory, None, RetentionPolicy(raw_text_days=1, events_days=None,
                                                                          deadletters_days=None), now=NOW, batch=1)
    keys = {e.event.event_key: name for name, e in stores["made"].items()}
    assert (counts.event_texts, counts.alert_evidence) == (2, 4)
    assert {keys[k]: event["text"] for k, event in _events(storage).items()} == {
        "aged": None, "ancient": None, "replayed": "replayed text @bob"}


def test_none_keeps_everything(storage, client, stores):
    forever = RetentionPolicy(raw_text_days=None, events_days=None, deadletters_days=None)
    assert apply_retention(storage.session_factory, client, forever, now=NOW + timedelta(days=5000)) == RetentionCounts()


# -- scheduling ---------------------------------------------------------------------------------------------------

def test_the_embedded_runtime_applies_the_policy_when_it_starts(storage, monkeypatch):
    from enrichment.lexicon import LexiconEnricher
    from streams.config import PipelineConfig
    from streams.runtimes import embedded

    policy = RetentionPolicy(raw_text_days=3)
    runtime = embedded.EmbeddedRuntime(config=PipelineConfig(retention=policy), enricher=LexiconEnricher(),
                                       storage=storage)
    stop = threading.Event()
    passes: list[RetentionPolicy] = []

    def first_pass(session_factory, analytics, given):
        passes.append(given)
        stop.set()
        return RetentionCounts()

    monkeypatch.setattr(embedded, "logged_retention_pass", first_pass)
    runtime.run(stop)
    assert passes == [policy]
    assert runtime.failure is None


def test_a_failing_pass_is_logged_and_never_raised(caplog):
    from streams.jobs.retention import logged_retention_pass

    def broken():
        raise RuntimeError("database away")

    assert logged_retention_pass(broken, None, POLICY, now=NOW) is None  # type: ignore[arg-type]
    assert "retention pass failed" in caplog.text


# -- the command --------------------------------------------------------------------------------------------------

def test_the_command_counts_in_a_dry_run_then_deletes(tmp_path, capsys):
    from scrm.cli import main
    from streams.storage import open_storage

    now = datetime.now(UTC)
    opened = open_storage(EmbeddedSettings(data_dir=tmp_path).database_url, None)
    try:
        with opened.session_factory.begin() as session:
            record_dead_letters([_letter(1, now - timedelta(days=40)), _letter(2, now - timedelta(days=1))],
                                session=session)
    finally:
        opened.close()

    def remaining() -> list[int | None]:
        storage = open_storage(EmbeddedSettings(data_dir=tmp_path).database_url, None)
        try:
            with storage.session_factory() as session:
                return list(session.scalars(select(DeadLetterRow.offset)))
        finally:
            storage.close()

    assert main(["retention", "run", "--dry-run", "--data-dir", str(tmp_path)]) == 0
    dry = capsys.readouterr().out
    assert [line.split()[-1] for line in dry.splitlines() if line.startswith("deadletters")] == ["1"]
    assert "nothing was changed" in dry
    assert remaining() == [1, 2]
    assert main(["retention", "run", "--data-dir", str(tmp_path)]) == 0
    assert remaining() == [2]
