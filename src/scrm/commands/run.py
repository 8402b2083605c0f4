"""``scrm run``: the embedded runtime over a JSON-lines file; exits when drained."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "run",
        help="process a file of SocialEvent JSON lines on the embedded runtime, then exit",
        description="Process a file of SocialEvent JSON lines on the embedded runtime (SQLite + chDB in "
        "DATA_DIR) and exit when drained. Re-running the same file changes nothing (idempotent by platform, "
        "author and event id). An event without received_at gets the time it was read.",
    )
    parser.add_argument("--input", type=Path, required=True, help="JSON-lines file, one SocialEvent per line")
    parser.add_argument("--data-dir", type=Path, help="state directory (default: $SCRM_DATA_DIR or .scrm)")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from ingest.producer import partition_key
    from ingest.replay import read_jsonl
    from scrm.embedded_feed import PIPELINE_STOPS, feed_embedded, stopped_exit
    from scrm.heap import settle_heap
    from scrm.wiring import embedded_platform, embedded_settings
    from streams.topics import RAW_EVENTS

    if not args.input.is_file():
        print(f"scrm run: no such file: {args.input}", file=sys.stderr)
        return 2
    settings = embedded_settings(args.data_dir)
    started = time.monotonic()
    with embedded_platform(settings) as platform:
        runtime = platform.runtime
        settle_heap()
        messages = ((RAW_EVENTS, partition_key(value), value) for value in read_jsonl(args.input))
        try:
            feed_embedded(runtime, messages, chunk=settings.pipeline.batch_size * 8,
                          on_drain=lambda: _progress(runtime.stats.snapshot()))
        except PIPELINE_STOPS as exc:
            return stopped_exit("scrm run", exc)
        summary = runtime.stats.snapshot()
    summary["seconds"] = round(time.monotonic() - started, 2)
    print(json.dumps(summary))
    return 0


def _progress(stats: dict[str, float]) -> None:
    print(
        f"\r{stats['received']:>9} read  {stats['processed']:>9} applied  {stats['dead_lettered']:>6} dead-lettered"
        f"  {stats['alerts']:>6} alerts  {stats['events_per_second']:>8}/s",
        end="",
        file=sys.stderr,
        flush=True,
    )
