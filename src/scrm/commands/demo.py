"""``scrm demo``: the whole platform in one process on a realistic simulated stream, with API and console."""

from __future__ import annotations

import argparse
import secrets
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path


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
    import uvicorn

    from alerts.dispatch import Dispatcher
    from alerts.routing import RoutingConfig, load_routing
    from api.app import ApiServices, create_app
    from api.settings import parse_api_keys
    from ingest.producer import partition_key
    from ingest.simulator import SimulatorConfig, raw_records
    from scrm.heap import settle_heap
    from scrm.observability import observe
    from scrm.wiring import embedded_platform
    from streams.settings import EmbeddedSettings

    overrides = {k: v for k, v in {"data_dir": args.data_dir, "host": args.host, "port": args.port}.items() if v}
    settings = EmbeddedSettings(**overrides)  # type: ignore[arg-type]
    keys = parse_api_keys(settings.api_keys)
    if not keys:
        admin_key = secrets.token_urlsafe(16)
        keys = {admin_key: "admin"}
    admin = next(iter(keys))
    now = datetime.now(UTC)
    simulator = SimulatorConfig(
        seed=args.seed,
        start=now - timedelta(hours=args.backfill_hours),
        events_per_hour=args.rate * 3600,
        crisis_at=now + timedelta(minutes=args.crisis_in),
        invalid_ratio=0.002,
    )
    stop = threading.Event()
    with embedded_platform(settings) as platform:
        runtime = platform.runtime
        settle_heap()

        def feed() -> None:
            """Publish the simulated stream, paced so event time tracks the wall clock after the backfill."""
            from ingest.codec import decode_event
            from ingest.exceptions import InvalidEvent

            for value in raw_records(simulator):
                if stop.is_set():
                    return
                try:
                    due = decode_event(value).occurred_at
                except InvalidEvent:
                    due = None
                while due is not None and due > datetime.now(UTC) and not stop.is_set():
                    time.sleep(min(0.5, (due - datetime.now(UTC)).total_seconds()))
                runtime.publish(value, partition_key(value))

        routing = load_routing(settings.routing_file) if settings.routing_file else RoutingConfig()
        dispatcher = Dispatcher(platform.storage.session_factory, routing)
        server: uvicorn.Server | None = None

        def pipeline() -> None:
            """The runtime until stopped; if it gives up, the whole process stops (never a dead pipeline
            behind a live API)."""
            runtime.run(stop)
            if runtime.failure and server is not None:
                server.should_exit = True

        threads = [
            threading.Thread(target=feed, name="simulator", daemon=True),
            threading.Thread(target=pipeline, name="pipeline", daemon=True),
            threading.Thread(target=dispatcher.run, args=(stop,), name="dispatcher", daemon=True),
        ]
        for thread in threads:
            thread.start()
        seen = observe(runtime.lanes(), platform.storage, stall_seconds=settings.pipeline.stall_seconds)
        services = ApiServices(
            session_factory=platform.storage.session_factory,
            api_keys=keys,
            enricher=platform.enricher,
            submit_links=runtime.submit_links,
            analytics=platform.storage.analytics,
            analyst_door=platform.analyst_door,
            pipeline_stats=runtime.stats.snapshot,
            pipeline_failure=lambda: runtime.failure,
            runtime_name="embedded",
            readiness=seen.readiness,
            metrics=seen.registry,
        )
        print(
            f"\nsCRM demo: {args.backfill_hours:g} h of simulated history, then {args.rate:g} events/s live; a crisis "
            f"starts forming in {args.crisis_in:g} min.\n"
            f"  console: http://{settings.host}:{settings.port}/?api_key={admin}\n"
            f"  API:     curl -H 'X-API-Key: {admin}' http://{settings.host}:{settings.port}/v1/alerts\n"
            f"  state:   {settings.data_dir.resolve()}   (Ctrl-C stops)\n",
            file=sys.stderr,
            flush=True,
        )
        server = uvicorn.Server(uvicorn.Config(create_app(services), host=settings.host, port=settings.port,
                                               log_level="warning"))
        try:
            server.run()
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=10)
            dispatcher.close()
    if runtime.failure:
        print(f"scrm demo: the pipeline stopped: {runtime.failure}", file=sys.stderr)
        return runtime.exit_code
    return 0
