"""A CRM round trip — import, events, export — keeps every attribute the CRM gave and adds the social
identities, and gives the same export and segment members on the embedded runtime (SQLite) and the Kafka
runtime (a real broker, every lane, PostgreSQL)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
import servers
from crm_round_trip import CRM, IMPORTED_AT, Outcome, run_scenario

from enrichment.lexicon import LexiconEnricher
from ingest.producer import partition_key, publish_raw
from profile_store.crm_import import parse_crm_csv, parse_crm_jsonl
from streams.admin import ensure_topics
from streams.config import PipelineConfig
from streams.runtimes.embedded import EmbeddedRuntime
from streams.runtimes.kafka import KafkaWorker
from streams.settings import WorkerSettings
from streams.storage import Storage, open_storage

pytestmark = pytest.mark.integration
PIPELINE = PipelineConfig(batch_size=50, batch_max_ms=50)


@pytest.fixture(scope="module")
def own_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = servers.start_kafka(tmp_path_factory.mktemp("crm-kafka"))
    try:
        yield server.address
    finally:
        server.stop()


@pytest.fixture(scope="module")
def embedded_outcome(tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    storage = open_storage(f"sqlite:///{tmp_path_factory.mktemp('crm-embedded')}/scrm.sqlite", None)
    try:
        runtime = EmbeddedRuntime(config=PIPELINE, enricher=LexiconEnricher(), storage=storage)

        def apply(lines: list[bytes], done: Callable[[Storage], bool]) -> None:
            for line in lines:
                runtime.publish(line, partition_key(line))
            runtime.drain()
            assert done(storage)

        return run_scenario(storage, apply)
    finally:
        storage.close()


def _check_round_trip(outcome: Outcome) -> None:
    original = {r.crm_id: r for r in parse_crm_csv(CRM.splitlines(keepends=True), source_name="crm", at=IMPORTED_AT).records}
    lines = [json.dumps(row) + "\n" for row in outcome.export]
    back = {r.crm_id: r for r in parse_crm_jsonl(lines, source_name="export", at=IMPORTED_AT).records}
    assert set(back) == set(original), "every CRM customer is exported"
    for crm_id, record in original.items():
        assert (back[crm_id].attributes, back[crm_id].consent, back[crm_id].stage) == (
            record.attributes, record.consent, record.stage), crm_id
    assert back["C1002"].identities == ("douyin:d5",), "the social identity the CRM did not know is added"
    by_crm = {row["crm_id"]: row for row in outcome.export}
    assert by_crm["C1001"]["scrm"]["lifecycle"] == "customer" and by_crm["C1003"]["scrm"]["lifecycle"] == "member"
    assert by_crm["C1001"]["scrm"]["segments"] == ["gold", "mailable"]
    assert outcome.members == {"gold": 1, "mailable": 1}
    assert [(crm_id, action) for crm_id, action, _ in outcome.actions][:1] == [("C1003", "retain")], \
        "the loyalty member who posted a refund demand and a threat to leave is the one to call"


def test_the_embedded_round_trip_keeps_every_attribute_and_adds_social_identities(embedded_outcome) -> None:
    _check_round_trip(embedded_outcome)


def test_the_kafka_runtime_on_postgresql_gives_the_same_round_trip(
    embedded_outcome, own_kafka, fresh_database_url
) -> None:
    ensure_topics(own_kafka, 2)
    settings = WorkerSettings(kafka_bootstrap=own_kafka, database_url=fresh_database_url,
                              app_id=f"crm-{uuid.uuid4().hex[:8]}", partitions=2, pipeline=PIPELINE)
    storage = open_storage(settings.database_url, None)
    stop = threading.Event()
    try:
        worker = KafkaWorker(settings, build_enricher=LexiconEnricher, storage=storage)
        thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
        thread.start()

        def apply(lines: list[bytes], done: Callable[[Storage], bool]) -> None:
            publish_raw(own_kafka, lines)
            deadline = time.monotonic() + 180
            while not done(storage) and time.monotonic() < deadline and thread.is_alive():
                stop.wait(0.2)  # polls the database for the cause; returns as soon as it holds
            assert done(storage), "the Kafka runtime did not apply the events within 3 minutes"

        outcome = run_scenario(storage, apply)
        stop.set()
        thread.join(timeout=60)
        assert worker.exit_code == 0
    finally:
        stop.set()
        storage.close()
    _check_round_trip(outcome)
    assert outcome == embedded_outcome
