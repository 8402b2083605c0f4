"""``scrm api``: the HTTP API and console over the Kafka runtime's stores."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "api",
        help="serve the HTTP API and console over PostgreSQL (+ ClickHouse)",
        description="Serve the API and console for the Kafka runtime. Configured by SCRM_DATABASE_URL, "
        "SCRM_CLICKHOUSE_DSN and SCRM_API_KEYS (key:role,... with roles agent, marketer, analyst, ingest, admin).",
    )
    parser.add_argument("--host", help="bind address (default $SCRM_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default $SCRM_PORT or 8000)")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    import uvicorn

    from analytics.analyst import open_analyst_door
    from api.app import ApiServices, create_app
    from api.settings import ApiSettings
    from enrichment.factory import build_enricher
    from ingest.producer import publish_raw
    from profile_store.contracts import LinkSignal
    from streams.storage import open_storage
    from streams.topics import IDENTITY_LINKS

    overrides = {k: v for k, v in {"host": args.host, "port": args.port}.items() if v is not None}
    settings = ApiSettings(**overrides)  # type: ignore[arg-type]
    keys = settings.parsed_api_keys()
    if not keys:
        print("scrm api: set SCRM_API_KEYS (e.g. 'secret1:admin,secret2:agent'); refusing to serve without keys",
              file=sys.stderr)
        return 2
    storage = open_storage(settings.database_url, settings.clickhouse_dsn)
    door = open_analyst_door(settings.clickhouse_dsn, settings.analyst) if settings.clickhouse_dsn else None

    def submit_links(signals: Sequence[LinkSignal]) -> None:
        publish_raw(settings.kafka_bootstrap, [s.model_dump_json().encode() for s in signals], topic=IDENTITY_LINKS)

    services = ApiServices(
        session_factory=storage.session_factory,
        api_keys=keys,
        enricher=build_enricher(settings.enrichment),
        submit_links=submit_links,
        analytics=storage.analytics,
        analyst_door=door,
        runtime_name="kafka",
    )
    try:
        uvicorn.run(create_app(services), host=settings.host, port=settings.port, log_level="info")
    finally:
        if door is not None:
            door.close()
        storage.close()
    return 0
