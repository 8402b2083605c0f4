"""A process's readiness and metrics, built from its lanes and storage (composition only), and the small
HTTP endpoint a worker without an API serves them on.

Every deployable that runs lanes (``scrm worker``, ``scrm serve``, ``scrm demo``) judges them with a
``streams.health.LaneWatch`` and exposes ``streams.health.LaneCollector`` beside the process collector;
the API serves them at ``/readyz`` and ``/metrics``, a worker at ``--metrics-port``.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from api.connector_health import ConnectorHealth
from ingest.connectors import AnyConnector, Connector
from ingest.polling.health import PollHealth
from streams.health import LaneCollector, LaneWatch
from streams.loop import LaneLoop
from streams.storage import Storage

log = logging.getLogger(__name__)

Readiness = Callable[[], list[str]]


@dataclass(frozen=True)
class Observability:
    """``readiness()`` lists what keeps the process from its work (empty: ready); ``registry`` its metrics."""

    readiness: Readiness
    registry: CollectorRegistry


def observe(lanes: Sequence[LaneLoop], storage: Storage, *, stall_seconds: float,
            extra: Sequence[Collector] = (), checks: Sequence[Readiness] = ()) -> Observability:
    """Readiness (database, stalled lanes, then ``checks``) and a registry with the process's CPU and memory,
    the lanes' counters and the ``extra`` collectors (receivers, pollers)."""
    watch = LaneWatch(lanes, stall_seconds=stall_seconds)
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    if lanes:
        registry.register(LaneCollector(lanes))
    for collector in extra:
        registry.register(collector)

    def readiness() -> list[str]:
        problems = [*storage.problems(), *watch.problems()]
        for check in checks:
            problems += check()
        return problems

    return Observability(readiness=readiness, registry=registry)


class ConnectorCollector(Collector):
    """The webhook receivers' counters per connector (``scrm_connector_*``), read at scrape time."""

    def __init__(self, health: ConnectorHealth, connectors: Mapping[str, AnyConnector]) -> None:
        self._health = health
        self._connectors = {name: c for name, c in connectors.items() if isinstance(c, Connector)}

    def collect(self) -> Iterator[Metric]:
        now = datetime.now(UTC)
        fields = {"deliveries": "requests received", "events": "events taken in", "skipped": "delivery parts "
                  "skipped with a reason", "signature_failures": "requests refused for their signature",
                  "dead_letters": "deliveries dead-lettered (unreadable)", "errors": "deliveries that failed "
                  "(intake unavailable)"}
        families = {name: CounterMetricFamily(f"scrm_connector_{name}", help_text, labels=["connector", "platform"])
                    for name, help_text in fields.items()}
        for name, connector in sorted(self._connectors.items()):
            report = self._health.report(name, now)
            for field_name, family in families.items():
                family.add_metric([name, connector.platform], float(getattr(report, field_name)))
        yield from families.values()


class PollCollector(Collector):
    """The pollers' counters per connector (``scrm_poller_*``) from ``records()`` (the runner's health in
    this process), read at scrape time."""

    FIELDS = {"rounds": "poll rounds finished", "requests": "HTTP requests sent to the platform",
              "pages": "pages made durable", "events": "events taken in", "dead_letters": "items dead-lettered",
              "retries": "requests retried (5xx, timeouts)", "waits": "waits for rate limits and budgets",
              "waited_seconds": "seconds spent waiting", "errors": "rounds or endpoints that failed"}

    def __init__(self, records: Callable[[], Mapping[str, PollHealth]]) -> None:
        self._records = records

    def collect(self) -> Iterator[Metric]:
        families = {name: CounterMetricFamily(f"scrm_poller_{name}", help_text, labels=["connector", "platform"])
                    for name, help_text in self.FIELDS.items()}
        last = GaugeMetricFamily("scrm_poller_last_round_timestamp_seconds", "when the last poll round ended",
                                 labels=["connector", "platform"])
        for name, record in sorted(self._records().items()):
            labels = [name, record.platform]
            for field_name, family in families.items():
                family.add_metric(labels, float(getattr(record, field_name)))
            if record.last_round_at is not None:
                last.add_metric(labels, record.last_round_at.timestamp())
        yield from families.values()
        yield last


def serve_health(host: str, port: int, observability: Observability, *, alive: Callable[[], bool]) -> ThreadingHTTPServer:
    """Serve ``/metrics``, ``/healthz`` (200 while ``alive()``) and ``/readyz`` on ``host:port`` from a daemon
    thread; returns the server (``shutdown()`` stops it). Raises ``OSError`` when the port is taken."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server hook name
            if self.path == "/metrics":
                self._send(200, generate_latest(observability.registry), CONTENT_TYPE_LATEST)
            elif self.path == "/healthz":
                ok = alive()
                self._json(200 if ok else 503, {"status": "ok" if ok else "stopping"})
            elif self.path == "/readyz":
                problems = observability.readiness()
                self._json(503 if problems else 200,
                           {"status": "not ready", "problems": problems} if problems else {"status": "ready"})
            else:
                self._send(404, b"not found\n", "text/plain")

        def _json(self, status: int, body: dict[str, object]) -> None:
            self._send(status, json.dumps(body).encode(), "application/json")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the http.server signature
            log.debug("health endpoint: " + format, *args)

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="scrm-health", daemon=True).start()
    return server
