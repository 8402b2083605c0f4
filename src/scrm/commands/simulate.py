"""``scrm simulate``: write the simulated stream to a file, as SocialEvent JSON lines or as the platforms'
own payloads (signed webhook requests, API pages) with the connectors file that reads them."""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ingest.contracts import SocialEvent


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="write a simulated social stream to a file (SocialEvent JSON lines, or platform-native payloads)",
        description="Write EVENTS simulated events to FILE. --format jsonl: one SocialEvent per line (for scrm "
        "run, scrm import jsonl, scrm publish). --format platform: what each platform would send: signed "
        "webhook requests (WeChat, Meta, Douyin), API pages (X, Reddit, YouTube, Weibo) and, for what no "
        "platform delivers natively, SocialEvent lines; the connectors file holding the secrets is written "
        "beside it as FILE.connectors.toml. Both formats write the simulated brands' own accounts there "
        "([brands.<brand>] tables).",
    )
    parser.add_argument("--out", type=Path, required=True, metavar="FILE")
    parser.add_argument("--format", choices=["jsonl", "platform"], default="jsonl")
    parser.add_argument("--events", type=int, default=10_000, help="how many events (default 10,000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--hours", type=float, default=24.0, help="event time spans this many hours up to now")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from ingest.connectors import brands_toml
    from ingest.simulator import SimulatorConfig, simulate_events
    from ingest.simulator.population import brand_accounts
    from scrm.progress import Progress

    if args.events < 1:
        print("scrm simulate: --events must be at least 1", file=sys.stderr)
        return 2
    now = datetime.now(UTC)
    config = SimulatorConfig(seed=args.seed, start=now - timedelta(hours=args.hours),
                             events_per_hour=args.events / args.hours)
    progress = Progress("events")

    def events() -> Iterator[SocialEvent]:
        for event in itertools.islice(simulate_events(config), args.events):
            progress.tick()
            yield event

    args.out.parent.mkdir(parents=True, exist_ok=True)
    connectors = args.out.with_name(args.out.name + ".connectors.toml")
    brands = brands_toml(brand_accounts(config))
    kinds: Counter[str] = Counter()
    with args.out.open("w", encoding="utf-8") as out:
        if args.format == "jsonl":
            from ingest.codec import encode_event

            for event in events():
                out.write(encode_event(event).decode("utf-8") + "\n")
                kinds["event"] += 1
            connectors.write_text(brands, encoding="utf-8")
            print(f"scrm simulate: the simulated brands' own accounts: {connectors} "
                  "(SCRM_CONNECTORS_FILE for scrm run)", file=sys.stderr)
        else:
            from ingest.simulator.platform_file import PlatformFile

            rendered = PlatformFile(config.brands, secret=os.urandom(32), sent_at=now)
            for line in rendered.lines(events()):
                out.write(json.dumps(line, ensure_ascii=False) + "\n")
                kinds[f"{line['kind']} {line.get('platform', '')}".strip()] += 1
            connectors.write_text(rendered.connectors_toml() + "\n" + brands, encoding="utf-8")
            print(f"scrm simulate: connectors (with the secrets that signed the requests): {connectors}",
                  file=sys.stderr)
    progress.done()
    summary = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
    print(f"scrm simulate: {args.events} events -> {args.out}: {summary}", file=sys.stderr)
    return 0
