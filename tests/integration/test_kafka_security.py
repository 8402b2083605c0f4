"""The platform on a secured cluster: a broker that admits only SASL clients on its SASL listener (PLAIN and
SCRAM-SHA-256, as managed clusters do), configured once through ``SCRM_KAFKA__*`` settings.

The worker (librdkafka, SCRAM-SHA-256), ``publish_raw`` (kafka-python, PLAIN) and ``ensure_topics``
(kafka-python admin) all reach it through ``KafkaConnection``; a wrong password is refused by the broker.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import servers
from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, ConfigResource

from enrichment.lexicon import LexiconEnricher
from ingest.codec import encode_event
from ingest.kafka_connection import KafkaConnection
from ingest.producer import publish_raw
from ingest.simulator import SimulatorConfig, simulate_events
from profile_store.tables import ProfileEventRow, ProfileRow
from streams.admin import ensure_topics
from streams.runtimes.kafka import KafkaWorker
from streams.settings import WorkerSettings
from streams.storage import open_storage
from streams.topics import RAW_EVENTS

USER, PASSWORD = "scrm-svc", "s3cret-" + uuid.uuid4().hex[:8]


@pytest.fixture(scope="module")
def sasl_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server, sasl_bootstrap = servers.start_sasl_kafka(tmp_path_factory.mktemp("sasl-kafka"), USER, PASSWORD)
    try:
        yield sasl_bootstrap
    finally:
        server.stop()


def _connection(mechanism: str, password: str = PASSWORD) -> KafkaConnection:
    return KafkaConnection(security_protocol="SASL_PLAINTEXT", sasl_mechanism=mechanism,  # type: ignore[arg-type]
                           sasl_username=USER, sasl_password=password, min_insync_replicas=1)


def test_a_wrong_password_is_refused(sasl_kafka: str) -> None:
    wrong = _connection("SCRAM-SHA-256", password="not-the-password")
    errors: list[KafkaError] = []
    producer = Producer({**wrong.librdkafka(sasl_kafka), "error_cb": errors.append})
    with pytest.raises(KafkaException):
        producer.list_topics(timeout=20)
    producer.poll(0)  # serve the error callback
    assert any(error.code() == KafkaError._AUTHENTICATION for error in errors), errors


def test_the_pipeline_runs_on_a_sasl_cluster(sasl_kafka: str, fresh_database_url: str) -> None:
    scram, plain = _connection("SCRAM-SHA-256"), _connection("PLAIN")
    ensure_topics(sasl_kafka, 2, scram)
    resource = ConfigResource(ConfigResource.Type.TOPIC, RAW_EVENTS)
    admin = AdminClient(scram.librdkafka(sasl_kafka))
    configs = admin.describe_configs([resource])[resource].result(timeout=20)
    assert configs["min.insync.replicas"].value == "1"

    events = list(itertools.islice(simulate_events(SimulatorConfig(seed=4, start=datetime(2026, 11, 2, tzinfo=UTC),
                                                                    customers=40)), 120))
    assert publish_raw(sasl_kafka, [encode_event(e) for e in events], connection=plain) == 120

    app_id = f"sasl-{uuid.uuid4().hex[:8]}"
    settings = WorkerSettings(kafka_bootstrap=sasl_kafka, kafka=scram, database_url=fresh_database_url,
                              app_id=app_id, partitions=2, lanes=("enrich", "apply", "identity"))
    storage = open_storage(settings.database_url, None)
    stop = threading.Event()
    expected = len({e.event_key for e in events})

    def applied() -> int:
        with storage.session_factory() as session:
            return session.query(ProfileEventRow).count()

    try:
        worker = KafkaWorker(settings, build_enricher=LexiconEnricher, storage=storage)
        thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
        thread.start()
        deadline = time.monotonic() + 180
        while applied() < expected and time.monotonic() < deadline and thread.is_alive():
            stop.wait(0.5)
        assert applied() == expected, f"{applied()} of {expected} events applied over SASL"
        stop.set()
        thread.join(timeout=60)
        assert worker.exit_code == 0
        with storage.session_factory() as session:
            assert session.query(ProfileRow).count() > 0
    finally:
        stop.set()
        storage.close()
