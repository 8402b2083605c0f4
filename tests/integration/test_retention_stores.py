"""Retention on the real servers: on PostgreSQL the job blanks and deletes by when rows were stored, in
pages, and leaves profiles and recent rows (replays of old events too) alone; the migration gives rows
stored before it the time it ran; on Kafka, created topics carry the policy's ``retention.ms`` and existing
ones are brought in line (compacted topics keep no time limit)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from confluent_kafka.admin import AdminClient, ConfigResource, ResourceType
from servers import unique_name
from sqlalchemy import select, text, update

from ingest.codec import event_from_dict
from ingest.deadletter import DeadLetter
from ingest.deadletter_store import DeadLetterRow, record_dead_letters
from profile_store.database import make_engine
from profile_store.tables import InteractionEdgeRow, ProfileEventRow, ProfileRow
from streams.admin import align_retention, ensure_topics
from streams.contracts import EnrichedEvent
from streams.jobs.retention import RetentionCounts, apply_retention
from streams.migrate import upgrade
from streams.steps.retention import RetentionPolicy
from streams.storage import open_storage
from streams.topics import TopicSpec
from streams.unit_of_work import apply_enriched_batch

pytestmark = pytest.mark.integration

NOW = datetime(2027, 6, 1, 12, 0, tzinfo=UTC)
POLICY = RetentionPolicy(raw_text_days=180, events_days=730, deadletters_days=30)
DAY_MS = 86_400_000


def _enriched(name: str) -> EnrichedEvent:
    from enrichment.contracts import Enrichment, ModelStamp, Sentiment

    at = NOW - timedelta(days=900)
    event = event_from_dict({
        "event_id": f"e-{name}", "platform": "weibo", "kind": "post", "occurred_at": at.isoformat(),
        "received_at": at.isoformat(), "author": {"id": f"u-{name}", "handle": name}, "brand": "acme",
        "text": f"{name} says hi @bob", "parent_id": "p-1", "source": "test", "raw": {"text": name}})
    return EnrichedEvent(customer_id=f"c-{name}", event=event, enrichment=Enrichment(
        sentiment=Sentiment(label="negative", score=-0.7, confidence=0.9), language="en",
        model=ModelStamp(name="test", version="1")))


def test_on_postgres_old_text_is_blanked_and_old_rows_deleted_in_pages(fresh_database_url: str) -> None:
    storage = open_storage(fresh_database_url, None)
    try:
        made = {name: _enriched(name) for name in ("aged", "ancient", "replayed")}
        apply_enriched_batch(list(made.values()), session_factory=storage.session_factory, analytics=None)
        stored = {"aged": NOW - timedelta(days=200), "ancient": NOW - timedelta(days=800), "replayed": NOW}
        with storage.session_factory.begin() as session:
            for name, at in stored.items():
                key = made[name].event.event_key
                session.execute(update(ProfileEventRow).where(ProfileEventRow.event_key == key).values(stored_at=at))
                session.execute(update(InteractionEdgeRow).where(InteractionEdgeRow.event_key.startswith(key))
                                .values(stored_at=at))
            record_dead_letters([DeadLetter(original=f"bad {n}".encode(), error="not JSON", stage="decode",
                                            source_topic="scrm.events.raw", partition=0, offset=n,
                                            failed_at=NOW - timedelta(days=days))
                                 for n, days in ((1, 31), (2, 29))], session=session)
        with storage.session_factory() as session:
            profiles = {r.customer_id: r.data for r in session.scalars(select(ProfileRow))}

        dry = apply_retention(storage.session_factory, None, POLICY, now=NOW, dry_run=True, batch=1)
        done = apply_retention(storage.session_factory, None, POLICY, now=NOW, batch=1)

        assert dry == done == RetentionCounts(event_texts=1, events=1, edges=2, dead_letters=1)
        assert apply_retention(storage.session_factory, None, POLICY, now=NOW, batch=1) == RetentionCounts()
        with storage.session_factory() as session:
            texts = {r.event_key: r.data["event"]["text"] for r in session.scalars(select(ProfileEventRow))}
            assert texts == {made["aged"].event.event_key: None, made["replayed"].event.event_key: "replayed says hi @bob"}
            assert list(session.scalars(select(DeadLetterRow.offset))) == [2]
            assert {r.customer_id: r.data for r in session.scalars(select(ProfileRow))} == profiles
    finally:
        storage.close()


def test_on_postgres_rows_stored_before_the_migration_count_from_when_it_ran(fresh_database_url: str) -> None:
    engine = make_engine(fresh_database_url)
    try:
        upgrade(engine, "2c6f8e4a1d93")  # 0015
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO profile_events (event_key, post_key, identity_key, occurred_at, thread_key, data) "
                "VALUES ('weibo:u-1/e-1', 'weibo:e-1', 'weibo:u-1', '2020-01-01T00:00:00Z', NULL, '{}')"))
            connection.execute(text("INSERT INTO interaction_edges (event_key, source_identity, target_post_key, "
                                    "target_handle_key) VALUES ('weibo:u-1/e-1', 'weibo:u-1', 'weibo:e-0', NULL)"))
        started = datetime.now(UTC)
        upgrade(engine)
        with engine.connect() as connection:
            stamps = [connection.scalar(text(f"SELECT stored_at FROM {t}")) for t in ("profile_events", "interaction_edges")]
        assert all(started - timedelta(seconds=5) <= at <= datetime.now(UTC) for at in stamps)
    finally:
        engine.dispose()


def _configs(bootstrap: str, names: list[str]) -> dict[str, dict[str, str]]:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    described = admin.describe_configs([ConfigResource(ResourceType.TOPIC, name) for name in names])
    return {resource.name: {key: entry.value for key, entry in future.result(timeout=15).items()
                            if key in ("retention.ms", "cleanup.policy")}
            for resource, future in described.items()}


def test_created_topics_carry_the_policy_and_existing_ones_are_brought_in_line(kafka_bootstrap: str) -> None:
    text_topic, letters, compacted = (unique_name(p) for p in ("ret_text", "ret_dead", "ret_compact"))
    specs = (TopicSpec(text_topic, holds=("text", "events")), TopicSpec(letters, holds=("deadletters",)),
             TopicSpec(compacted, config={"cleanup.policy": "compact"}))
    first = RetentionPolicy(raw_text_days=5, deadletters_days=2, topic_days=7)

    assert sorted(ensure_topics(kafka_bootstrap, 1, retention=first, specs=specs)) == sorted([text_topic, letters, compacted])
    configs = _configs(kafka_bootstrap, [text_topic, letters, compacted])
    assert configs[text_topic]["retention.ms"] == str(5 * DAY_MS)
    assert configs[letters]["retention.ms"] == str(2 * DAY_MS)
    assert configs[compacted]["cleanup.policy"] == "compact"
    default_ms = configs[compacted]["retention.ms"]  # the broker's default: no time limit of ours

    second = RetentionPolicy(raw_text_days=3, deadletters_days=1, topic_days=7)
    assert align_retention(kafka_bootstrap, second, specs=specs) == sorted([text_topic, letters])
    configs = _configs(kafka_bootstrap, [text_topic, letters, compacted])
    assert (configs[text_topic]["retention.ms"], configs[letters]["retention.ms"]) == (str(3 * DAY_MS), str(DAY_MS))
    assert configs[compacted] == {"cleanup.policy": "compact", "retention.ms": default_ms}
    assert align_retention(kafka_bootstrap, second, specs=specs) == []
