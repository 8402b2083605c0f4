"""``scrm dispatch``: deliver incident changes to webhooks, chat robots and email; escalate."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from datetime import timedelta
from pathlib import Path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "dispatch",
        help="run the alert dispatcher (routing, delivery with retries, escalation)",
        description="Deliver new and changed incidents per the routing file (signed webhooks, Slack, WeCom, "
        "DingTalk, Feishu, email), retry with backoff, dead-letter what keeps failing, and escalate "
        "unacknowledged incidents past their SLA. Several dispatchers may share one database. Configured by "
        "SCRM_DATABASE_URL and SCRM_ROUTING_FILE; see docs/alerts.md.",
    )
    parser.add_argument("--routing", type=Path, help="routing JSON (overrides SCRM_ROUTING_FILE)")
    parser.add_argument("--database-url", help="overrides SCRM_DATABASE_URL")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from alerts.dispatch import Dispatcher
    from alerts.outbox_signal import listener_for
    from alerts.settings import DispatchSettings
    from scrm.heap import settle_heap
    from streams.storage import open_storage

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    overrides = {k: v for k, v in {"routing_file": args.routing, "database_url": args.database_url}.items() if v}
    settings = DispatchSettings(**overrides)  # type: ignore[arg-type]
    storage = open_storage(settings.database_url, None)
    dispatcher = Dispatcher(storage.session_factory, settings.routing())
    outbox_signal = listener_for(settings.database_url)
    settle_heap()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        dispatcher.run(
            stop,
            idle_seconds=(settings.idle_ms if outbox_signal is None else settings.listen_timeout_ms) / 1000,
            signal=outbox_signal,
            escalate_every=timedelta(seconds=settings.escalate_every_seconds),
        )
    finally:
        if outbox_signal is not None:
            outbox_signal.close()
        dispatcher.close()
        storage.close()
    return 0
