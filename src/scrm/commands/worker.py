"""``scrm worker``: a Kafka runtime worker."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
import threading


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "worker",
        help="run a Kafka-runtime worker; scale out by starting more",
        description="Run a worker on Apache Kafka: consumes scrm.events.raw, writes profiles to PostgreSQL, "
        "alerts to scrm.alerts, analytics to ClickHouse. Configured by SCRM_KAFKA_BOOTSTRAP, SCRM_DATABASE_URL, "
        "SCRM_CLICKHOUSE_DSN, SCRM_PARTITIONS. Creates missing topics on start. SIGTERM / Ctrl-C stop it after "
        "the batches in hand; exit code 70 means the dead-letter ratio limit stopped it.",
    )
    parser.add_argument("--bootstrap", help="Kafka bootstrap servers (overrides SCRM_KAFKA_BOOTSTRAP)")
    parser.add_argument("--lanes", help="comma-separated lanes to run: enrich, apply, alert, identity (default all; "
                        "overrides SCRM_LANES)")
    parser.add_argument("--metrics-port", type=int, help="serve /metrics, /healthz and /readyz on this port "
                        "(overrides SCRM_METRICS_PORT; one port per worker process)")
    parser.add_argument("--loglevel", default="info", choices=["debug", "info", "warning", "error"])
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from enrichment.factory import build_enricher
    from ingest.exceptions import ConnectorsFileError
    from scrm.heap import settle_heap
    from scrm.observability import observe, serve_health
    from scrm.wiring import brands_of, with_brands
    from streams.admin import align_retention, ensure_topics
    from streams.health import LaneWatch
    from streams.heartbeats import HeartbeatWriter
    from streams.runtimes.kafka import KafkaWorker
    from streams.settings import WorkerSettings
    from streams.storage import open_storage

    logging.basicConfig(level=args.loglevel.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(args.loglevel.upper())  # also under --log-format json
    log = logging.getLogger("scrm.worker")
    overrides = {"kafka_bootstrap": args.bootstrap, "lanes": args.lanes and tuple(args.lanes.split(",")),
                 "metrics_port": args.metrics_port}
    settings = WorkerSettings(**{name: value for name, value in overrides.items() if value})
    try:
        settings = settings.model_copy(update={
            "pipeline": with_brands(settings.pipeline, brands_of(settings.connectors_file))})
    except ConnectorsFileError as exc:
        print(f"scrm worker: {exc}", file=sys.stderr)
        return 2
    if not settings.privacy_secret.get_secret_value():
        print("scrm worker: set SCRM_PRIVACY_SECRET (the same on every worker, the API and scrm erase): the "
              "erasure suppression list is keyed by it (docs/privacy.md)", file=sys.stderr)
        return 2
    retention = settings.pipeline.retention
    created = ensure_topics(settings.kafka_bootstrap, settings.partitions, settings.kafka, retention=retention)
    if created:
        log.info("created topics: %s", ", ".join(created))
    aligned = align_retention(settings.kafka_bootstrap, retention, settings.kafka)
    if aligned:
        log.info("retention.ms brought in line with the retention policy: %s", ", ".join(aligned))
    storage = open_storage(settings.database_url, settings.clickhouse_dsn)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    health = None
    beating = threading.Event()
    heart: threading.Thread | None = None
    try:
        worker = KafkaWorker(settings, build_enricher=lambda: build_enricher(settings.enrichment), storage=storage)
        watch = LaneWatch(worker.lanes(), stall_seconds=settings.pipeline.stall_seconds)
        writer = HeartbeatWriter(worker.lanes(), watch, storage.session_factory, interval=settings.heartbeat_seconds,
                                 worker=f"{settings.app_id}@{socket.gethostname()}:{os.getpid()}")
        heart = threading.Thread(target=writer.run, args=(beating,), name="heartbeat", daemon=True)
        heart.start()
        if settings.metrics_port is not None:
            seen = observe(worker.lanes(), storage, stall_seconds=settings.pipeline.stall_seconds)
            health = serve_health(settings.metrics_host, settings.metrics_port, seen, alive=lambda: not stop.is_set())
            log.info("metrics on http://%s:%d/metrics", settings.metrics_host, health.server_address[1])
        settle_heap()
        log.info("worker %s consuming from %s", settings.app_id, settings.kafka_bootstrap)
        worker.run(stop)
    finally:
        beating.set()
        if heart is not None:
            heart.join(timeout=10)
        if health is not None:
            health.shutdown()
        storage.close()
    log.info("worker stopped (exit code %d)", worker.exit_code)
    return worker.exit_code
