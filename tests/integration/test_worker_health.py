"""A Kafka worker's health endpoint (``scrm worker --metrics-port``) on the real broker: ``/readyz`` turns 503
naming a lane that has records waiting and finishes nothing, ``/metrics`` is scraped with the lane's backlog,
and the worker is ready again once the lane catches up. (The embedded runtime: tests/unit/streams/test_readiness.py.)
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from enrichment.contracts import Enrichment, ModelStamp
from enrichment.lexicon import LexiconEnricher
from ingest.producer import publish_raw
from scrm.observability import observe, serve_health
from streams.admin import ensure_topics
from streams.health import LaneWatch
from streams.runtimes.kafka import KafkaWorker
from streams.settings import WorkerSettings
from streams.storage import open_storage


class Gate:
    """An enricher that holds every batch until ``gate`` is set (``entered`` tells a batch arrived)."""

    def __init__(self) -> None:
        self._inner = LexiconEnricher()
        self.entered, self.gate = threading.Event(), threading.Event()

    def stamp(self) -> ModelStamp:
        return self._inner.stamp()

    def enrich(self, texts: Sequence[str]) -> list[Enrichment]:
        self.entered.set()
        assert self.gate.wait(120), "the test never opened the gate"
        return self._inner.enrich(texts)


class Later:
    """The monotonic clock plus ``seconds`` (raised by the test once the lane is stuck)."""

    seconds = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self.seconds

    def time(self) -> float:
        return time.time() + self.seconds

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        return stop.wait(seconds)


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_a_stuck_lane_turns_the_workers_readyz_503_and_metrics_show_it(kafka_bootstrap, fresh_database_url):
    ensure_topics(kafka_bootstrap, 4)
    marker = uuid.uuid4().hex[:8]
    events = [json.dumps({"event_id": f"h-{marker}-{n}", "platform": "x", "kind": "post", "source": "test",
                          "occurred_at": datetime(2026, 10, 5, 9, n, tzinfo=UTC).isoformat(),
                          "author": {"id": f"health-{marker}-{n}"}, "text": "fine"}).encode() for n in range(3)]
    publish_raw(kafka_bootstrap, events)
    settings = WorkerSettings(kafka_bootstrap=kafka_bootstrap, database_url=fresh_database_url,
                              app_id=f"health-{marker}", lanes=("enrich",))
    storage = open_storage(settings.database_url, None)
    enricher, later, stop = Gate(), Later(), threading.Event()
    server = None
    try:
        worker = KafkaWorker(settings, build_enricher=lambda: enricher, storage=storage)
        seen = observe(worker.lanes(), storage, stall_seconds=60)
        watch = LaneWatch(worker.lanes(), stall_seconds=60, clock=later)
        server = serve_health("127.0.0.1", 0, type(seen)(readiness=lambda: [*storage.problems(), *watch.problems()],
                                                         registry=seen.registry), alive=lambda: not stop.is_set())
        base = f"http://127.0.0.1:{server.server_address[1]}"
        thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
        thread.start()
        assert enricher.entered.wait(120), "the enrich lane never took a batch"
        assert _get(f"{base}/readyz")[0] == 200, "busy for less than the stall time is not stalled"

        later.seconds = 61
        status, body = _get(f"{base}/readyz")
        assert status == 503
        assert json.loads(body)["problems"][0].startswith("enrich: ")
        status, metrics = _get(f"{base}/metrics")
        waiting = next(line for line in metrics.splitlines() if line.startswith('scrm_lane_waiting_records{lane="enrich"}'))
        assert status == 200 and float(waiting.split()[-1]) >= 3
        assert _get(f"{base}/healthz")[0] == 200

        enricher.gate.set()
        deadline = time.monotonic() + 120
        while worker.lanes()[0].stats.waiting and time.monotonic() < deadline:
            stop.wait(0.2)
        assert _get(f"{base}/readyz")[0] == 200, "ready again once the lane caught up"
    finally:
        enricher.gate.set()
        stop.set()
        if server is not None:
            server.shutdown()
        storage.close()
