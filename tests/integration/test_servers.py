"""The integration fixtures hand out real, working servers (not mocks, not skipped placeholders)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa

pytestmark = pytest.mark.integration


def test_kafka_round_trips_messages_in_order(kafka_bootstrap: str, create_topic: Callable[..., str]) -> None:
    from kafka import KafkaConsumer, KafkaProducer

    topic = create_topic(partitions=1)
    sent = [b"first", b"second", b"third"]
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    try:
        for value in sent:
            producer.send(topic, key=b"same-key", value=value).get(timeout=30)
        producer.flush(timeout=30)
    finally:
        producer.close()

    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        group_id=f"{topic}-reader",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=30_000,
    )
    received: list[bytes] = []
    try:
        for message in consumer:
            received.append(message.value)
            if len(received) == len(sent):
                break
    finally:
        consumer.close()

    assert received == sent


def test_create_topics_is_idempotent_and_sets_partitions(kafka_bootstrap: str) -> None:
    import servers
    from kafka import KafkaConsumer

    topic = servers.unique_name("idem")
    servers.create_topics(kafka_bootstrap, [topic], partitions=3)
    servers.create_topics(kafka_bootstrap, [topic], partitions=3)  # second call must not raise

    consumer = KafkaConsumer(bootstrap_servers=kafka_bootstrap)
    try:
        assert consumer.partitions_for_topic(topic) == {0, 1, 2}
    finally:
        consumer.close()


def test_postgres_sql_round_trip(database_url: str) -> None:
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE IF EXISTS fixture_probe"))
            conn.execute(sa.text("CREATE TABLE fixture_probe (id int PRIMARY KEY, name text NOT NULL)"))
            conn.execute(sa.text("INSERT INTO fixture_probe VALUES (1, 'ada'), (2, 'grace')"))
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT id, name FROM fixture_probe ORDER BY id")).all()
            version = conn.execute(sa.text("SHOW server_version")).scalar_one()
        with engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE fixture_probe"))
    finally:
        engine.dispose()

    assert [tuple(r) for r in rows] == [(1, "ada"), (2, "grace")]
    assert int(version.split(".")[0]) >= 13


def _table_names(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_fresh_database_is_empty_and_separate(fresh_database_url: str, database_url: str) -> None:
    assert fresh_database_url != database_url
    assert _table_names(fresh_database_url) == set()

    engine = sa.create_engine(fresh_database_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE only_here (id int)"))
    finally:
        engine.dispose()

    assert _table_names(fresh_database_url) == {"only_here"}
    assert "only_here" not in _table_names(database_url)


@pytest.mark.parametrize("attempt", [1, 2])
def test_each_test_gets_its_own_fresh_database(fresh_database_url: str, attempt: int) -> None:
    # Both runs create the same table: the second would fail if it saw the first one's database.
    engine = sa.create_engine(fresh_database_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE per_test (attempt int)"))
            conn.execute(sa.text("INSERT INTO per_test VALUES (:a)"), {"a": attempt})
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT attempt FROM per_test")).scalars().all() == [attempt]
    finally:
        engine.dispose()


def test_drop_database_removes_it_and_is_idempotent(database_url: str) -> None:
    import servers

    name = servers.unique_name("scrm_test")
    url = servers.create_database(database_url, name)
    assert _table_names(url) == set()
    servers.drop_database(database_url, name)
    servers.drop_database(database_url, name)  # idempotent

    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            exists = conn.execute(sa.text("SELECT count(*) FROM pg_database WHERE datname = :n"), {"n": name})
            assert exists.scalar_one() == 0
    finally:
        engine.dispose()
