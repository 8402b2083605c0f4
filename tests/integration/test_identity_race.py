"""A merge racing with events for both customers, on different partitions and two workers, converges to
the profile a single in-process run over the same events and link computes."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from kafka.partitioner.default import murmur2
from workers import Worker, as_json, produce, profile_probe, social_event, wait_for, worker_env

from enrichment.config import EnrichmentConfig
from enrichment.factory import build_enricher
from profile_store.contracts import LinkSignal, Provenance
from profile_store.identity_graph import make_link
from profile_store.repository import find_profile_by_identity
from streams.admin import ensure_topics
from streams.config import PipelineConfig
from streams.runtimes.embedded import EmbeddedRuntime
from streams.storage import open_storage
from streams.topics import IDENTITY_LINKS, RAW_EVENTS

pytestmark = pytest.mark.integration
PARTITIONS = 4
EVENTS_EACH = 150


def _partition(key: str) -> int:
    return (murmur2(key.encode()) & 0x7FFFFFFF) % PARTITIONS


def _authors_on_different_partitions() -> tuple[str, str]:
    while True:
        a, b = f"ra{uuid.uuid4().hex[:8]}", f"rb{uuid.uuid4().hex[:8]}"
        if _partition(f"weibo:{a}") != _partition(f"douyin:{b}"):
            return a, b


@pytest.fixture
def workers(kafka_bootstrap: str, fresh_database_url: str, tmp_path: Path) -> Iterator[list[Worker]]:
    ensure_topics(kafka_bootstrap, PARTITIONS)
    env = worker_env(kafka_bootstrap, fresh_database_url, PARTITIONS)
    started = [Worker(env, tmp_path / f"worker{n}.log") for n in range(2)]
    yield started
    for worker in started:
        worker.stop()


def test_a_merge_racing_with_events_on_two_partitions_converges(
    workers: list[Worker], kafka_bootstrap: str, fresh_database_url: str
) -> None:
    a, b = _authors_on_different_partitions()
    texts = ["快递太慢了", "客服很好，谢谢", "这个手机真不错", "质量问题，退货", "love it", "terrible service"]
    events_a = [social_event("weibo", a, 2 * n, texts[n % 6]) for n in range(EVENTS_EACH)]
    events_b = [social_event("douyin", b, 2 * n + 1, texts[(n + 3) % 6]) for n in range(EVENTS_EACH)]
    link = make_link(f"weibo:{a}", f"douyin:{b}", Provenance(source="crm_import", actor="race-test"),
                     datetime(2026, 11, 1, tzinfo=UTC))
    signal = LinkSignal(op="link", link=link, at=link.created_at)

    def send(author_events: list[dict[str, object]], platform: str, author: str) -> None:
        key = f"{platform}:{author}".encode()
        for start in range(0, len(author_events), 25):
            produce(kafka_bootstrap, RAW_EVENTS, [(key, as_json(e)) for e in author_events[start : start + 25]])

    senders = [
        threading.Thread(target=send, args=(events_a, "weibo", a)),
        threading.Thread(target=send, args=(events_b, "douyin", b)),
    ]
    for sender in senders:
        sender.start()
    produce(kafka_bootstrap, IDENTITY_LINKS, [(None, signal.model_dump_json().encode())])
    for sender in senders:
        sender.join()

    reference_store = open_storage("sqlite://", None)
    reference = EmbeddedRuntime(
        config=PipelineConfig(), enricher=build_enricher(EnrichmentConfig()), storage=reference_store
    )
    for event in [*events_a, *events_b]:
        reference.publish(as_json(event))
    reference.submit_links([signal])
    reference.drain()
    with reference_store.session_factory() as session:
        expected = find_profile_by_identity(f"weibo:{a}", session=session)
    assert expected is not None
    want = expected.model_dump(mode="json")

    probe_a, probe_b = profile_probe(fresh_database_url, f"weibo:{a}"), profile_probe(fresh_database_url, f"douyin:{b}")

    def differences() -> dict[str, tuple[object, object]]:
        profile = probe_b()
        got = profile.model_dump(mode="json") if profile else {}
        return {field: (got.get(field), want[field]) for field in want if got.get(field) != want[field]}

    # converged = equal to the in-process result; a re-election may still be on its way when the last
    # event is folded (the link arrived before the earliest account acted), so wait for it, bounded
    try:
        wait_for("the merged profile to equal the in-process one", lambda: not differences(), timeout=240,
                 workers=workers)
    except pytest.fail.Exception as exc:
        raise AssertionError(f"never converged; fields (got, want): {differences()}") from exc
    assert differences() == {}
    assert probe_a() == probe_b()
