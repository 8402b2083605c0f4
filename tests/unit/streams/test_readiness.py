"""Readiness tells the truth about the lanes, and their counters reach Prometheus: a lane with records
waiting that finishes nothing makes ``/readyz`` answer 503 naming it; an idle lane is ready however long it
idles; ``/metrics`` serves every lane's counters. (The Kafka runtime: tests/integration/test_worker_health.py.)
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from api.app import ApiServices, create_app
from enrichment.contracts import Enrichment, ModelStamp
from enrichment.lexicon import LexiconEnricher
from scrm.observability import observe
from streams.config import PipelineConfig
from streams.health import LaneWatch
from streams.runtimes.embedded import EmbeddedRuntime
from streams.storage import open_storage

T0 = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)


class GatedEnricher:
    """The lexicon enricher, held at a gate: ``entered`` is set when a batch arrives, ``gate`` lets it through."""

    def __init__(self) -> None:
        self._inner = LexiconEnricher()
        self.entered, self.gate = threading.Event(), threading.Event()

    def stamp(self) -> ModelStamp:
        return self._inner.stamp()

    def enrich(self, texts: Sequence[str]) -> list[Enrichment]:
        self.entered.set()
        assert self.gate.wait(60), "the test never opened the gate"
        return self._inner.enrich(texts)


class Ahead:
    """The monotonic clock, ``seconds`` ahead: what a watch sees after that long without progress."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def monotonic(self) -> float:
        return time.monotonic() + self.seconds

    def time(self) -> float:
        return time.time() + self.seconds

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        return stop.wait(seconds)


def test_a_stalled_lane_makes_readyz_503_and_metrics_show_its_backlog(sqlite_url, event_factory) -> None:
    storage = open_storage(sqlite_url, None)
    enricher = GatedEnricher()
    stop = threading.Event()
    try:
        runtime = EmbeddedRuntime(config=PipelineConfig(), enricher=enricher, storage=storage)
        for n in range(3):
            runtime.publish(json.dumps(event_factory(author={"id": f"u{n}"}, at=T0), default=str).encode())
        later = Ahead(0)
        fresh, late = LaneWatch(runtime.lanes(), stall_seconds=60), LaneWatch(runtime.lanes(), stall_seconds=60,
                                                                               clock=later)
        seen = observe(runtime.lanes(), storage, stall_seconds=60)
        app = create_app(ApiServices(session_factory=storage.session_factory, api_keys={}, enricher=enricher,
                                     submit_links=runtime.submit_links, readiness=late.problems,
                                     metrics=seen.registry))
        client = TestClient(app)
        thread = threading.Thread(target=runtime.run, args=(stop,), daemon=True)
        thread.start()
        assert enricher.entered.wait(30), "the enrich lane never took its batch"

        assert fresh.problems() == [] and late.problems() == [], "busy for less than the stall time is not stalled"
        later.seconds = 61
        ready = client.get("/readyz")
        assert ready.status_code == 503
        (problem,) = ready.json()["problems"]
        assert problem.startswith("enrich: 3 records waiting")
        metrics = client.get("/metrics").text
        assert 'scrm_lane_waiting_records{lane="enrich"} 3.0' in metrics
        assert "process_cpu_seconds_total" in metrics

        enricher.gate.set()
        deadline = time.monotonic() + 30
        while runtime.pending() and time.monotonic() < deadline:
            stop.wait(0.05)
        assert runtime.pending() == 0
        assert client.get("/readyz").json() == {"status": "ready"}, "an idle lane is ready however long it idles"
        assert 'scrm_lane_records_total{lane="apply"} 3.0' in client.get("/metrics").text
    finally:
        enricher.gate.set()
        stop.set()
        storage.close()


def test_readyz_reports_a_database_that_does_not_answer(tmp_path) -> None:
    storage = open_storage(f"sqlite:///{tmp_path / 'gone.db'}", None)
    seen = observe((), storage, stall_seconds=60, checks=[lambda: ["kafka: no metadata within 2 s"]])
    assert seen.readiness() == ["kafka: no metadata within 2 s"]
    storage.engine.dispose()
    (tmp_path / "gone.db").unlink()
    (tmp_path / "gone.db").mkdir()  # the file is now a directory: SQLite cannot open it
    problems = seen.readiness()
    assert problems[0].startswith("database: OperationalError") and len(problems) == 2
    storage.close()
