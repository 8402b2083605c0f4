"""``scrm api``: the HTTP API and console over the Kafka runtime's stores, with the webhook receivers and
generic ingest publishing to ``scrm.events.raw`` (acks=all before they answer)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "api",
        help="serve the HTTP API and console over PostgreSQL (+ ClickHouse)",
        description="Serve the API and console for the Kafka runtime. Configured by SCRM_DATABASE_URL, "
        "SCRM_CLICKHOUSE_DSN and SCRM_API_KEYS (key:role,... with roles agent, marketer, analyst, ingest, admin).",
    )
    parser.add_argument("--host", help="bind address (default $SCRM_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default $SCRM_PORT or 8000)")
    parser.add_argument("--connectors", type=Path,
                        help="connectors TOML for the webhook receivers (default $SCRM_CONNECTORS_FILE)")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    import uvicorn

    from analytics.analyst import open_analyst_door
    from api.app import ApiServices, create_app
    from api.auth import Keyring, database_keys
    from api.settings import ApiSettings
    from enrichment.factory import build_enricher
    from ingest.producer import publish_raw
    from profile_store.contracts import LinkSignal
    from profile_store.privacy import PrivacyKey
    from scrm.commands._serving import read_connectors, receivers
    from scrm.erasing import kafka_erasure, producer_config
    from scrm.logs import uvicorn_log_config
    from scrm.observability import ConnectorCollector, observe
    from streams.admin import BrokerCheck
    from streams.heartbeats import WorkerLanes
    from streams.storage import open_storage
    from streams.topics import IDENTITY_LINKS
    from streams.transports.kafka_intake import KafkaIntakeSink

    flags = {"host": args.host, "port": args.port, "connectors_file": args.connectors}
    settings = ApiSettings(**{k: v for k, v in flags.items() if v is not None})  # type: ignore[arg-type]
    keys = settings.parsed_api_keys()
    connectors = read_connectors(settings.connectors_file, "api")
    if connectors is None:
        return 2
    storage = open_storage(settings.database_url, settings.clickhouse_dsn)
    keyring = Keyring(keys, database_keys(storage.session_factory))
    keyring.refresh()
    if not keys and not keyring.any_active():
        print("scrm api: no API key: create one with 'scrm keys create --database-url ... --name NAME --role admin' "
              "or set SCRM_API_KEYS (key:role,...) for the first admin; refusing to serve without keys", file=sys.stderr)
        storage.close()
        return 2
    door = open_analyst_door(settings.clickhouse_dsn, settings.analyst) if settings.clickhouse_dsn else None

    def submit_links(signals: Sequence[LinkSignal]) -> None:
        publish_raw(settings.kafka_bootstrap, [s.model_dump_json().encode() for s in signals], topic=IDENTITY_LINKS,
                    connection=settings.kafka)

    sink = KafkaIntakeSink({**settings.kafka.librdkafka(settings.kafka_bootstrap), "client.id": "scrm-api-intake"})
    lanes = WorkerLanes(storage.session_factory)
    secret = settings.privacy_secret.get_secret_value()
    erase, verify_erasure = kafka_erasure(
        storage, PrivacyKey.from_text(secret),
        producer_config(settings.kafka.librdkafka(settings.kafka_bootstrap), "scrm-api-erasure")) if secret else (None, None)
    try:
        with receivers(connectors, sink, storage.session_factory) as (health, puller):
            seen = observe((), storage, stall_seconds=60.0, extra=[ConnectorCollector(health, connectors)],
                           checks=[BrokerCheck(settings.kafka_bootstrap, settings.kafka).problems, lanes.problems])
            services = ApiServices(
                session_factory=storage.session_factory,
                api_keys=keys,
                keyring=keyring,
                ticket_secret=settings.ticket_secret.get_secret_value() if settings.ticket_secret else None,
                rate_limits=settings.rate_limits,
                enricher=build_enricher(settings.enrichment),
                submit_links=submit_links,
                analytics=storage.analytics,
                analyst_door=door,
                runtime_name="kafka",
                pipeline_stats=lanes.summary,
                intake=sink,
                connectors=connectors,
                pulls=puller,
                connector_health=health,
                readiness=seen.readiness,
                metrics=seen.registry,
                erase=erase,
                verify_erasure=verify_erasure,
            )
            # no access log: request lines carry query strings, and Meta's handshake sends its verify token there
            uvicorn.run(create_app(services), host=settings.host, port=settings.port, log_level="info",
                        access_log=False, log_config=uvicorn_log_config())
    finally:
        sink.close()
        if door is not None:
            door.close()
        storage.close()
    return 0
