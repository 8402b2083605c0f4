"""``scrm poll``: the poll connectors of a connectors file (X, Reddit, YouTube, Weibo), on the embedded
runtime (``--data-dir``) or into Kafka (``--kafka``: the poll process of a Kafka deployment).

``--once`` drains every connector's listings, makes everything durable (embedded: applied to profiles and
alerts; Kafka: acknowledged by the brokers) and exits with a table per connector; without it each connector
polls on its ``interval_seconds`` until SIGINT/SIGTERM. Cursors and health live in the platform database
(the data dir's, or ``SCRM_DATABASE_URL``), so a restarted poller resumes where it stood.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ingest.connectors import PollConnector
    from ingest.contracts import SocialEvent
    from ingest.deadletter import DeadLetter
    from ingest.polling.runner import RoundResult
    from ingest.sink import IntakeSink

EXIT_FAILED = 1
"""``--once``: a connector's round failed or was refused (its table row says why)."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "poll",
        help="run the poll connectors (X, Reddit, YouTube, Weibo) of a connectors file",
        description="Poll the platforms' APIs for the poll connectors of FILE (docs/connectors.md). With --once: "
        "drain every listing, apply or publish it, print a table per connector and exit (1 if one failed); "
        "without: poll on each connector's interval until Ctrl-C. Cursors are stored after each page is "
        "durable, so a killed poller resumes without gaps or duplicates.",
    )
    parser.add_argument("--connectors", type=Path, help="connectors TOML (default $SCRM_CONNECTORS_FILE)")
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--data-dir", type=Path, help="embedded state directory (default: $SCRM_DATA_DIR or .scrm)")
    target.add_argument("--kafka", action="store_true",
                        help="publish to scrm.events.raw on Kafka; cursors in $SCRM_DATABASE_URL")
    parser.add_argument("--once", action="store_true", help="drain every connector once, then exit")
    parser.add_argument("--only", action="append", metavar="NAME", help="poll only this connector (repeatable)")
    parser.add_argument("--metrics-port", type=int, help="with --kafka: serve /metrics, /healthz, /readyz here")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from scrm.commands._serving import read_connectors

    path = args.connectors or _default_file(args.kafka)
    if path is None:
        print("scrm poll: give --connectors FILE (or set SCRM_CONNECTORS_FILE)", file=sys.stderr)
        return 2
    connectors = read_connectors(path, "poll")
    if connectors is None:
        return 2
    from ingest.connectors import poll_connectors

    polled = poll_connectors(connectors)
    unknown = sorted(set(args.only or ()) - set(polled))
    if unknown:
        print(f"scrm poll: no poll connector named {', '.join(unknown)} in {path}", file=sys.stderr)
        return 2
    if args.only:
        polled = {name: polled[name] for name in args.only}
    if not polled:
        print(f"scrm poll: {path} has no poll connector (platform x, reddit, youtube or weibo)", file=sys.stderr)
        return 2
    return _kafka(args, polled) if args.kafka else _embedded(args, polled)


def _default_file(kafka: bool) -> Path | None:
    from streams.settings import EmbeddedSettings, PollerSettings

    return (PollerSettings() if kafka else EmbeddedSettings()).connectors_file


def _embedded(args: argparse.Namespace, polled: Mapping[str, PollConnector]) -> int:
    from scrm.embedded_feed import PIPELINE_STOPS, stopped_exit
    from scrm.heap import settle_heap
    from scrm.pollers import poll_runner
    from scrm.wiring import embedded_platform, embedded_settings
    from streams.runtimes.journal import JournalSink

    settings = embedded_settings(args.data_dir)
    with embedded_platform(settings) as platform:
        runtime = platform.runtime
        settle_heap()
        journal = JournalSink(runtime, platform.storage.session_factory)
        try:
            journal.recover()
            if args.once:
                chunk = settings.pipeline.batch_size * 8

                def drain_now() -> None:
                    if runtime.pending() >= chunk:
                        runtime.drain()

                counted = _Counted(journal, after=drain_now)
                try:
                    rounds = poll_runner(polled, counted, platform.storage.session_factory).run_once()
                    runtime.drain()
                except PIPELINE_STOPS as exc:
                    return stopped_exit("scrm poll", exc)
                counted.progress.done()
                stats = runtime.stats.snapshot()
                print(f"scrm poll: {stats['processed']:.0f} events applied, {stats['duplicates']:.0f} already known, "
                      f"{stats['alerts']:.0f} alerts raised (data dir {settings.data_dir})", file=sys.stderr)
                return _report(rounds)
            runner = poll_runner(polled, journal, platform.storage.session_factory)
            stop = _stop_on_signals()
            pipeline = threading.Thread(target=runtime.run, args=(stop,), name="pipeline", daemon=True)
            pipeline.start()
            print(f"scrm poll: polling {', '.join(sorted(polled))} into {settings.data_dir} (Ctrl-C stops)",
                  file=sys.stderr)
            runner.run(stop)
            pipeline.join(timeout=30)
        finally:
            journal.close()
        if runtime.failure:
            print(f"scrm poll: the pipeline stopped: {runtime.failure}", file=sys.stderr)
            return runtime.exit_code
    return 0


def _kafka(args: argparse.Namespace, polled: Mapping[str, PollConnector]) -> int:
    from scrm.observability import PollCollector, observe, serve_health
    from scrm.pollers import poll_runner
    from streams.admin import BrokerCheck
    from streams.settings import PollerSettings
    from streams.storage import open_storage
    from streams.transports.kafka_intake import KafkaIntakeSink

    overrides = {"metrics_port": args.metrics_port}
    settings = PollerSettings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
    storage = open_storage(settings.database_url, None)
    sink = KafkaIntakeSink({**settings.kafka.librdkafka(settings.kafka_bootstrap), "client.id": "scrm-poll"})
    metrics = None
    try:
        counted = _Counted(sink)
        runner = poll_runner(polled, counted, storage.session_factory)
        if args.once:
            rounds = runner.run_once()
            counted.progress.done()
            return _report(rounds)
        stop = _stop_on_signals()
        if settings.metrics_port is not None:
            seen = observe((), storage, stall_seconds=60.0, extra=[PollCollector(runner.health)],
                           checks=[BrokerCheck(settings.kafka_bootstrap, settings.kafka).problems])
            metrics = serve_health(settings.metrics_host, settings.metrics_port, seen, alive=lambda: not stop.is_set())
        print(f"scrm poll: polling {', '.join(sorted(polled))} into {settings.kafka_bootstrap} (Ctrl-C stops)",
              file=sys.stderr)
        runner.run(stop)
    finally:
        if metrics is not None:
            metrics.shutdown()
        sink.close()
        storage.close()
    return 0


class _Counted:
    """An ``IntakeSink`` that counts what passes into a progress line on stderr, then calls ``after``."""

    def __init__(self, sink: IntakeSink, *, after: Callable[[], None] | None = None) -> None:
        from scrm.progress import Progress

        self._sink = sink
        self._after = after
        self.progress = Progress("records")

    def accept(self, records: Sequence[SocialEvent | DeadLetter]) -> None:
        self._sink.accept(records)
        self.progress.tick(len(records))
        if self._after is not None:
            self._after()


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def _report(rounds: Mapping[str, RoundResult]) -> int:
    """Print one row per connector (this run's counts); ``EXIT_FAILED`` when a round failed."""
    from scrm.commands.state import print_table

    rows: list[list[object]] = []
    for name, found in sorted(rounds.items()):
        r = found.stats
        rows.append([name, found.health.platform, r.requests, r.pages, r.events, r.invalid, r.retries, r.waits,
                     f"{r.waited_seconds:.1f}", found.error or "; ".join(found.health.unavailable)])
    print_table(["connector", "platform", "requests", "pages", "events", "dead letters", "retries", "waits",
                 "waited s", "error / skipped endpoints"], rows)
    return EXIT_FAILED if any(found.error for found in rounds.values()) else 0
