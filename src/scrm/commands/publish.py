"""``scrm publish``: send a JSON-lines file to ``scrm.events.raw`` on Kafka."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "publish",
        help="publish a JSON-lines file of SocialEvents to scrm.events.raw",
        description="Publish each line of FILE as one message on scrm.events.raw, keyed by "
        "<platform>:<author.id>. Lines are sent as they are; invalid ones are dead-lettered by the worker.",
    )
    parser.add_argument("file", type=Path)
    parser.add_argument("--bootstrap", default=os.environ.get("SCRM_KAFKA_BOOTSTRAP", "127.0.0.1:9092"))
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from ingest.producer import publish_raw
    from ingest.replay import read_jsonl

    if not args.file.is_file():
        print(f"scrm publish: no such file: {args.file}", file=sys.stderr)
        return 2
    from streams.settings import WorkerSettings

    count = publish_raw(args.bootstrap, read_jsonl(args.file), connection=WorkerSettings().kafka)
    print(f"published {count} messages to scrm.events.raw on {args.bootstrap}", file=sys.stderr)
    return 0
