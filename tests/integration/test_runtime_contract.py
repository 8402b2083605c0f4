"""The runtime contract: the same input gives the same profiles, incidents, alerts and dead letters on
the embedded runtime (one in-memory partition, or four interleaved in different orders) and on the Kafka
runtime (a real broker with four partitions, every lane in its own consumer group, PostgreSQL).

The Kafka half runs on a broker of its own, so no other test's records are on its topics. Merges, first
sightings and event-id collisions are in the input; the windowed detectors settle posts on the watermark
(``alerts.suite``), so incidents (ids, counts, severities) and alerts agree however partitions interleave
(caps aside: see ``PIPELINE``)."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import servers
from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient
from runtime_contract import Outcome, brand_account_keys, contract_input, observe

from alerts.config import AlertingConfig, IncidentConfig
from enrichment.config import EnrichmentConfig
from enrichment.factory import build_enricher
from ingest.producer import partition_key, publish_raw
from streams.admin import ensure_topics
from streams.config import PipelineConfig
from streams.lanes import lane_specs
from streams.runtimes.embedded import EmbeddedRuntime
from streams.runtimes.kafka import KafkaWorker
from streams.settings import WorkerSettings
from streams.storage import open_storage

pytestmark = pytest.mark.integration

PIPELINE = PipelineConfig(
    batch_size=200, batch_max_ms=50,
    alerts=AlertingConfig(incidents=IncidentConfig(max_new_per_window=1000, budgets={})).with_brand_accounts(
        brand_account_keys()))
"""Fire caps this input never fills: which per-post alerts a full cap window admits follows arrival order
(they fire at once, before the watermark could order them), so the contract holds caps of no window. The
simulated brands' own accounts are configured: they build no profile on either runtime."""


@pytest.fixture(scope="module")
def lines() -> list[bytes]:
    return contract_input()


@pytest.fixture(scope="module")
def enricher():
    return build_enricher(EnrichmentConfig())


@pytest.fixture(scope="module")
def own_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = servers.start_kafka(tmp_path_factory.mktemp("contract-kafka"))
    try:
        yield server.address
    finally:
        server.stop()


def _embedded(lines: list[bytes], enricher, path: Path, *, partitions: int = 1, seed: int | None = None) -> Outcome:
    shuffle = random.Random(seed)
    order = (lambda ready: shuffle.sample(ready, len(ready))) if seed is not None else None
    storage = open_storage(f"sqlite:///{path}", None)
    try:
        runtime = EmbeddedRuntime(config=PIPELINE, enricher=enricher, storage=storage, partitions=partitions,
                                  order=order)
        for line in lines:
            runtime.publish(line, partition_key(line))
        runtime.drain()
        with storage.session_factory() as session:
            return observe(session)
    finally:
        storage.close()


@pytest.fixture(scope="module")
def embedded_outcome(lines, enricher, tmp_path_factory) -> Outcome:
    return _embedded(lines, enricher, tmp_path_factory.mktemp("embedded") / "one.db")


def _caught_up(bootstrap: str, app_id: str) -> bool:
    """Whether every lane's group has committed to the end of every partition of its topic."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    probe = Consumer({"bootstrap.servers": bootstrap, "group.id": f"probe-{uuid.uuid4().hex}"})
    try:
        for spec in lane_specs():
            metadata = admin.list_topics(spec.topic, timeout=10).topics[spec.topic]
            partitions = [TopicPartition(spec.topic, p) for p in metadata.partitions]
            group = Consumer({"bootstrap.servers": bootstrap, "group.id": f"{app_id}{spec.group_suffix}"})
            try:
                committed = group.committed(partitions, timeout=10)
            finally:
                group.close()
            for tp in committed:
                high = probe.get_watermark_offsets(TopicPartition(spec.topic, tp.partition), timeout=10)[1]
                if high > max(tp.offset, 0):
                    return False
        return True
    finally:
        probe.close()


def test_the_embedded_runtime_gives_the_same_outcome_however_its_partitions_interleave(
    lines, enricher, embedded_outcome, tmp_path
):
    for seed in (1, 2):
        interleaved = _embedded(lines, enricher, tmp_path / f"four-{seed}.db", partitions=4, seed=seed)
        _assert_same(embedded_outcome, interleaved)


def test_the_kafka_runtime_gives_the_same_outcome_as_the_embedded_one(
    lines, enricher, embedded_outcome, own_kafka, fresh_database_url
):
    app_id = f"contract-{uuid.uuid4().hex[:8]}"
    ensure_topics(own_kafka, 4)
    settings = WorkerSettings(kafka_bootstrap=own_kafka, database_url=fresh_database_url, app_id=app_id,
                              partitions=4, pipeline=PIPELINE)
    storage = open_storage(settings.database_url, None)
    stop = threading.Event()
    try:
        worker = KafkaWorker(settings, build_enricher=lambda: enricher, storage=storage)
        thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
        thread.start()
        publish_raw(own_kafka, lines)
        deadline, quiet = time.monotonic() + 300, 0
        while quiet < 2 and time.monotonic() < deadline:  # caught up twice in a row: nothing left in flight
            quiet = quiet + 1 if _caught_up(own_kafka, app_id) else 0
            stop.wait(1.0)
        assert quiet == 2, "the Kafka runtime did not catch up within 5 minutes"
        stop.set()
        thread.join(timeout=60)
        assert worker.exit_code == 0
        with storage.session_factory() as session:
            kafka = observe(session)
    finally:
        stop.set()
        storage.close()
    _assert_same(embedded_outcome, kafka)


def _assert_same(expected: Outcome, actual: Outcome) -> None:
    assert actual.dead_letters == expected.dead_letters
    assert expected.incidents, "the input raises incidents"
    assert {a[0] for a in expected.alerts.values()} >= {"negative_spike", "purchase_intent"}, "windowed and per-post alerts"
    assert actual.incidents == expected.incidents
    assert actual.alerts == expected.alerts
    assert set(actual.profiles) == set(expected.profiles), "the same customers"
    brands = set(brand_account_keys())
    assert not [p for p in expected.profiles.values() if brands & set(p["identities"])], "a brand is no customer"
    differing = [cid for cid in expected.profiles if actual.profiles[cid] != expected.profiles[cid]]
    assert not differing, f"{len(differing)} profiles differ, e.g. {differing[:3]}"
