"""Profile benchmarks: fold+upsert throughput (SQLite, PostgreSQL) and PageRank at 1M nodes / 5M edges.

    python benchmarks/bench_profiles.py [--events 20000] [--postgres-url URL] [--nodes 1000000 --edges 5000000]

Without --postgres-url, PostgreSQL is started with deploy/local/postgres.sh in a temporary directory.
Prints a table. Events are enriched once up front (enrichment has its own benchmark), so the numbers are
the profile path: identity registration, event log, fold, upsert, alert detection.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import local_servers
import numpy as np

from enrichment.lexicon import LexiconEnricher
from ingest.simulator import SimulatorConfig, simulate_events
from profile_store.pagerank import pagerank, percentiles
from streams.contracts import EnrichedEvent
from streams.steps.enrich import enrich_events
from streams.steps.identity import resolve_customer
from streams.storage import open_storage
from streams.unit_of_work import apply_enriched_batch


def enriched_stream(count: int) -> list[EnrichedEvent]:
    events = []
    for event in simulate_events(SimulatorConfig(customers=max(500, count // 20))):
        events.append((event, resolve_customer(event, {})))
        if len(events) == count:
            break
    return enrich_events(events, LexiconEnricher())


def fold_and_upsert(url: str, events: list[EnrichedEvent], batch: int) -> float:
    storage = open_storage(url, None)
    try:
        started = time.perf_counter()
        for start in range(0, len(events), batch):
            apply_enriched_batch(events[start : start + batch], session_factory=storage.session_factory, analytics=None)
        return len(events) / (time.perf_counter() - started)
    finally:
        storage.close()


def pagerank_run(nodes: int, edges: int) -> tuple[float, float, float]:
    """Seconds to rank, seconds for percentiles, peak RSS growth in MiB (power-law targets)."""
    rng = np.random.default_rng(11)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    sources = rng.integers(0, nodes, edges, dtype=np.int32)
    targets = np.minimum((rng.pareto(1.2, edges) * nodes / 50).astype(np.int64), nodes - 1).astype(np.int32)
    started = time.perf_counter()
    ranks = pagerank(sources, targets, nodes)
    ranked = time.perf_counter()
    percentiles(ranks)
    done = time.perf_counter()
    peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    return ranked - started, done - ranked, peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--postgres-url")
    parser.add_argument("--nodes", type=int, default=1_000_000)
    parser.add_argument("--edges", type=int, default=5_000_000)
    args = parser.parse_args()

    rows: list[tuple[str, str]] = []
    events = enriched_stream(args.events)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        os.chmod(directory, 0o755)
        rate = fold_and_upsert(f"sqlite:///{directory}/bench.db", events, args.batch)
        rows.append((f"fold+upsert SQLite ({args.events} events, batch {args.batch})", f"{rate:,.0f} events/s"))
        env = {**os.environ, "PG_DATA_DIR": str(directory / "pg"), "PGPORT": "55499"}
        url = args.postgres_url or local_servers.start("postgres.sh", env)
        try:
            rate = fold_and_upsert(url, events, args.batch)
        finally:
            if not args.postgres_url:
                local_servers.stop("postgres.sh", env)
        rows.append((f"fold+upsert PostgreSQL ({args.events} events, batch {args.batch})", f"{rate:,.0f} events/s"))
    rank_s, pct_s, peak = pagerank_run(args.nodes, args.edges)
    rows.append((f"PageRank {args.nodes:,} nodes / {args.edges:,} edges", f"{rank_s:.1f} s"))
    rows.append(("percentiles", f"{pct_s:.2f} s"))
    rows.append(("PageRank peak memory growth (incl. edge arrays)", f"{peak:,.0f} MiB"))
    width = max(len(name) for name, _ in rows)
    print(f"{'measure'.ljust(width)}  value")
    for name, value in rows:
        print(f"{name.ljust(width)}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
