"""``scrm demo``: the whole platform in one process on a realistic simulated stream, with API and console."""

from __future__ import annotations

import argparse
import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

POLLED = ("x", "reddit")
"""The platforms the demo polls from local stand-ins of their APIs."""
POLL_SECONDS = 5.0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the embedded platform on a simulated stream, serving the API and console (Ctrl-C stops)",
        description="Embedded runtime + simulated social stream (backfilled history, then live, with a "
        "crisis forming a few minutes in) + API and console on http://HOST:PORT until Ctrl-C.",
    )
    parser.add_argument("--data-dir", type=Path, help="state directory (default: $SCRM_DATA_DIR or .scrm)")
    parser.add_argument("--host", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default 8000)")
    parser.add_argument("--rate", type=float, default=5.0, help="simulated events per second (default 5)")
    parser.add_argument("--backfill-hours", type=float, default=1.0, help="hours of history to replay first (default 1)")
    parser.add_argument("--crisis-in", type=float, default=3.0, help="minutes until a crisis starts forming")
    parser.add_argument("--seed", type=int, default=7)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from ingest.connectors import parse_connectors
    from ingest.producer import partition_key
    from ingest.simulator import SimulatorConfig, raw_records
    from ingest.simulator.native import DemoConnectors, native_request
    from ingest.simulator.polled import PlatformStandIns
    from ingest.simulator.population import brand_accounts
    from scrm.commands._serving import Deliver, serve_embedded
    from scrm.wiring import with_brands
    from streams.runtimes.embedded import EmbeddedRuntime
    from streams.settings import EmbeddedSettings

    overrides = {k: v for k, v in {"data_dir": args.data_dir, "host": args.host, "port": args.port}.items() if v}
    settings = EmbeddedSettings(**overrides)  # type: ignore[arg-type]
    now = datetime.now(UTC)
    simulator = SimulatorConfig(
        seed=args.seed,
        start=now - timedelta(hours=args.backfill_hours),
        events_per_hour=args.rate * 3600,
        crisis_at=now + timedelta(minutes=args.crisis_in),
        invalid_ratio=0.002,
    )

    # the simulated brands' own accounts, as a connectors file's [brands.<brand>] tables would name them
    settings = settings.model_copy(update={"pipeline": with_brands(settings.pipeline, brand_accounts(simulator))})
    brands = {brand: DemoConnectors.create(brand, os.urandom(32)) for brand in simulator.brands}
    standins = PlatformStandIns(POLLED)
    standins.start()
    polled_toml = "\n".join(standins.connectors_toml(brand, interval_seconds=POLL_SECONDS) for brand in brands)
    native_connectors = parse_connectors("\n".join([*(c.connectors_toml() for c in brands.values()), polled_toml]),
                                         {}, where="the demo's connectors")

    def feed(runtime: EmbeddedRuntime, deliver: Deliver, stop: threading.Event) -> None:
        """The simulated stream, paced so event time tracks the wall clock after the backfill. What the push
        platforms would push arrives as their signed webhook requests, through the same receivers and adapters
        as real deliveries (ingest.simulator.native); what X and Reddit would list goes to their local API
        stand-ins, which the demo's pollers poll (ingest.simulator.polled); the rest, and the deliberately
        broken records, as JSON."""
        from ingest.codec import decode_event
        from ingest.exceptions import InvalidEvent

        for n, value in enumerate(raw_records(simulator)):
            if stop.is_set():
                return
            try:
                event = decode_event(value)
            except InvalidEvent:
                runtime.publish(value, partition_key(value))
                continue
            while event.occurred_at > datetime.now(UTC) and not stop.is_set():
                time.sleep(min(0.5, (event.occurred_at - datetime.now(UTC)).total_seconds()))
            if event.platform.value in POLLED and standins.publish([event]):
                continue
            native = native_request(event, brands, sent_at=datetime.now(UTC), nonce=n.to_bytes(16, "big"))
            if native is None or deliver(native.connector, native.request).status != 200:
                runtime.publish(value, partition_key(value))

    def banner(admin: str) -> str:
        return (
            f"\nsCRM demo: {args.backfill_hours:g} h of simulated history, then {args.rate:g} events/s live; a crisis "
            f"starts forming in {args.crisis_in:g} min.\n"
            f"  console: http://{settings.host}:{settings.port}/#api_key={admin}\n"
            f"  API:     curl -H 'X-API-Key: {admin}' http://{settings.host}:{settings.port}/v1/alerts\n"
            f"  state:   {settings.data_dir.resolve()}   (Ctrl-C stops)\n"
        )

    try:
        return serve_embedded(settings, command="demo", banner=banner, feed=feed, extra_connectors=native_connectors)
    finally:
        standins.close()
