"""Alert noise on the simulator's stream: incidents per 1,000 events, per rule, on the embedded runtime.

Simulates ``--events`` events over ``--hours`` of event time (seeded; optionally with a crisis
``--crisis-at-hours`` into the stream), runs them through the whole embedded pipeline (enrichment,
identities, profiles, detectors, incidents) in a temporary data dir, with the simulated brands' own
accounts configured as a connectors file's ``[brands.<brand>]`` tables would, and prints one row per rule
and grouping (own incident, digest, over budget): incidents, incidents per 1,000 events and alerts.

``--sample N --out FILE`` also writes N incidents (seeded draw) as JSON lines for labelling by hand:
rule, severity, title, count and the posts it holds, plus an empty ``"act"`` field to fill with true/false
(would a community manager act on it?). ``--labels FILE`` reads such a file back and prints the share
labelled true per rule.

    PYTHONPATH=src python benchmarks/bench_incidents.py --events 12000 --hours 3
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import sys
import tempfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=12_000)
    parser.add_argument("--hours", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--crisis-at-hours", type=float, default=None)
    parser.add_argument("--sample", type=int, default=0)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--labels", type=Path, help="a labelled sample: print the share a person would act on")
    args = parser.parse_args()
    if args.labels:
        return _report_labels(args.labels)

    from alerts.repository import list_incidents
    from ingest.codec import encode_event
    from ingest.producer import partition_key
    from ingest.simulator import SimulatorConfig, simulate_events
    from ingest.simulator.population import brand_accounts
    from scrm.embedded_feed import feed_embedded
    from scrm.wiring import embedded_platform, with_brands
    from streams.settings import EmbeddedSettings
    from streams.topics import RAW_EVENTS

    start = datetime(2026, 11, 2, 8, tzinfo=UTC)
    simulator = SimulatorConfig(
        seed=args.seed, start=start, events_per_hour=args.events / args.hours,
        crisis_at=start + timedelta(hours=args.crisis_at_hours) if args.crisis_at_hours is not None else None)
    with tempfile.TemporaryDirectory(prefix="scrm-noise-") as tmp:
        settings = EmbeddedSettings(data_dir=Path(tmp))
        settings = settings.model_copy(update={"pipeline": with_brands(settings.pipeline, brand_accounts(simulator))})
        with embedded_platform(settings, with_analytics=False) as platform:
            values = [encode_event(e) for e in itertools.islice(simulate_events(simulator), args.events)]
            messages = ((RAW_EVENTS, partition_key(v), v) for v in values)
            feed_embedded(platform.runtime, messages, chunk=settings.pipeline.batch_size * 8,
                          on_drain=lambda: print(f"\r{platform.runtime.stats.processed:>8} events", end="",
                                                 file=sys.stderr, flush=True))
            print(file=sys.stderr)
            with platform.storage.session_factory() as session:
                listed = list_incidents(session=session, limit=1_000_000)
    incidents = [(i.dedup_key, i.rule, i.model_dump(mode="json")) for i in listed]
    groups: Counter[tuple[str, str]] = Counter()
    alerts: Counter[tuple[str, str]] = Counter()
    for key, rule, data in incidents:
        group = key.split(":", 1)[0] if key.startswith(("digest:", "overflow:")) else "own"
        groups[rule, group] += 1
        alerts[rule, group] += int(data.get("count", 1))
    per = 1000 / args.events
    print(f"{args.events:,} events, {args.hours:g} h of event time, seed {args.seed}"
          + (f", crisis at {args.crisis_at_hours:g} h" if args.crisis_at_hours is not None else ""))
    print(f"| {'rule':<22} | {'grouping':<8} | {'incidents':>9} | {'per 1,000 events':>16} | {'alerts':>6} |")
    print(f"|{'-' * 24}|{'-' * 10}|{'-' * 11}|{'-' * 18}|{'-' * 8}|")
    for (rule, group), n in sorted(groups.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"| {rule:<22} | {group:<8} | {n:>9} | {n * per:>16.2f} | {alerts[rule, group]:>6} |")
    total = sum(groups.values())
    print(f"| {'all':<22} | {'':<8} | {total:>9} | {total * per:>16.2f} | {sum(alerts.values()):>6} |")
    if args.sample and args.out:
        _write_sample(incidents, args.sample, args.seed, args.out)
    return 0


def _write_sample(incidents: list[tuple[str, str, dict]], n: int, seed: int, out: Path) -> None:
    chosen = random.Random(seed).sample(incidents, min(n, len(incidents)))
    with out.open("w", encoding="utf-8") as f:
        for key, rule, data in sorted(chosen, key=lambda i: i[0]):
            posts = [{"author": p.get("author"), "followers": p.get("followers"), "text": p.get("text")}
                     for p in data.get("evidence", {}).get("posts", [])]
            f.write(json.dumps({"dedup_key": key, "rule": rule, "severity": data["severity"], "title": data["title"],
                                "count": data.get("count"), "posts": posts, "act": None}, ensure_ascii=False) + "\n")
    print(f"wrote {len(chosen)} incidents to label to {out}", file=sys.stderr)


def _report_labels(path: Path) -> int:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    labelled = [r for r in rows if isinstance(r.get("act"), bool)]
    by_rule: dict[str, list[bool]] = {}
    for r in labelled:
        by_rule.setdefault(r["rule"], []).append(r["act"])
    print(f"| {'rule':<22} | {'labelled':>8} | {'would act':>9} |")
    print(f"|{'-' * 24}|{'-' * 10}|{'-' * 11}|")
    for rule, acts in sorted(by_rule.items()):
        print(f"| {rule:<22} | {len(acts):>8} | {sum(acts) / len(acts):>9.0%} |")
    if labelled:
        print(f"| {'all':<22} | {len(labelled):>8} | {sum(r['act'] for r in labelled) / len(labelled):>9.0%} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
