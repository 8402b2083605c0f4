"""``scrm worker``: the Kafka runtime (faust) worker."""

from __future__ import annotations

import argparse
import logging


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "worker",
        help="run a Kafka-runtime worker (faust); scale out by starting more",
        description="Run a faust worker on Apache Kafka: consumes scrm.events.raw, writes profiles to "
        "PostgreSQL, alerts to scrm.alerts, analytics to ClickHouse. Configured by SCRM_KAFKA_BOOTSTRAP, "
        "SCRM_DATABASE_URL, SCRM_CLICKHOUSE_DSN, SCRM_PARTITIONS. Creates missing topics on start.",
    )
    parser.add_argument("--bootstrap", help="Kafka bootstrap servers (overrides SCRM_KAFKA_BOOTSTRAP)")
    parser.add_argument("--loglevel", default="info", choices=["debug", "info", "warning", "error"])
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    import faust

    from enrichment.factory import build_enricher
    from streams.admin import ensure_topics
    from streams.runtimes.kafka import build_app
    from streams.settings import WorkerSettings
    from streams.storage import open_storage

    logging.basicConfig(level=args.loglevel.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = WorkerSettings(**({"kafka_bootstrap": args.bootstrap} if args.bootstrap else {}))  # type: ignore[arg-type]
    created = ensure_topics(settings.kafka_bootstrap, settings.partitions)
    if created:
        logging.getLogger("scrm.worker").info("created topics: %s", ", ".join(created))
    storage = open_storage(settings.database_url, settings.clickhouse_dsn)
    app = build_app(settings, enricher=build_enricher(settings.enrichment), storage=storage)
    worker = faust.Worker(app, loglevel=args.loglevel, redirect_stdouts=False)
    try:
        worker.execute_from_commandline()
    finally:
        storage.close()
    return 0
