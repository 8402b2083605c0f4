"""Segments on PostgreSQL: first page, count, CSV export memory, live membership per batch, full re-evaluation.

    PYTHONPATH=src python benchmarks/bench_segments.py [--profiles 1000000] [--segments 10] [--pg-port 55942]

Starts PostgreSQL from ``deploy/local/postgres.sh`` in a temporary directory, writes ``--profiles`` generated
profiles (lifecycles, influence, platforms, brands, topics, CRM tiers; one identity each), saves
``--segments`` rules (creation evaluates each over every profile: the cron approach's cost), then measures
per segment: the first page of members, the member count, the CSV export (peak Python memory with
tracemalloc), a full re-evaluation, and ``apply_batch_memberships`` for a batch of 32 changed customers (what
the apply lane adds per batch: the live approach). Prints a table; never asserts.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import statistics
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import local_servers

RULES = (
    ("fans", "lifecycle = fan"),
    ("advocates", "lifecycle = advocate"),
    ("influencers", "influence >= 60"),
    ("weibo-fans", "lifecycle in (fan, advocate) and platforms contains weibo"),
    ("acme-talkers", "brands contains acme and event_count >= 5"),
    ("gold", "crm.tier in (gold, platinum)"),
    ("at-risk", "churn_risk >= 0.6 and lifecycle not in (detractor)"),
    ("quiet", "not last_seen within_days 30"),
    ("battery", "topics contains battery and sentiment < 0"),
    ("prospects", "lifecycle = prospect"),
    ("big-douyin", "followers > 10000 and platforms contains douyin"),
    ("vip-mail", "crm.tier = gold and consent.email = true"),
)
LIFECYCLES = ("prospect", "prospect", "prospect", "customer", "member", "fan", "advocate", "detractor")
PLATFORMS = ("weibo", "douyin", "xiaohongshu", "wechat", "x", "reddit")


def _profiles(count: int, offset: int, clock: datetime) -> list[dict[str, object]]:
    rng = random.Random(offset)
    rows = []
    for i in range(offset, offset + count):
        platforms = rng.sample(PLATFORMS, rng.randint(1, 3))
        last = clock - timedelta(days=rng.uniform(0, 90))
        lifecycle = rng.choice(LIFECYCLES)
        data = {"customer_id": f"c{i:08d}", "followers": int(rng.paretovariate(1.2) * 50),
                "counts_by_platform": {p: rng.randint(1, 9) for p in platforms},
                "brands": {rng.choice(("acme", "rival")): rng.randint(1, 5)},
                "topics": {rng.choice(("battery", "price", "delivery", "service")): round(rng.random(), 2)},
                "crm": {"tier": rng.choice(("gold", "silver", "bronze", "platinum"))} if rng.random() < 0.3 else {},
                "consent": {"email": rng.random() < 0.5}}
        rows.append({"customer_id": f"c{i:08d}", "display_name": f"用户{i}", "lifecycle": lifecycle,
                     "influence": round(rng.random() ** 2 * 100, 2), "churn_risk": round(rng.random(), 2),
                     "sentiment_ewma": round(rng.uniform(-1, 1), 2), "event_count": rng.randint(1, 40),
                     "first_seen": last - timedelta(days=rng.uniform(0, 300)), "last_seen": last, "data": data})
    return rows


def write_profiles(session_factory: object, count: int, clock: datetime) -> None:
    """Insert ``count`` generated profiles (50,000 per transaction, progress on stderr), then ``ANALYZE``
    (what autovacuum does within a minute of a bulk load; plans before it are for empty tables)."""
    from sqlalchemy import insert, text

    from profile_store.tables import ProfileRow

    started = time.perf_counter()
    for offset in range(0, count, 50_000):
        chunk = _profiles(min(50_000, count - offset), offset, clock)
        with session_factory.begin() as session:  # type: ignore[attr-defined]
            session.execute(insert(ProfileRow.__table__), chunk)
        print(f"  profiles written: {offset + len(chunk):,}", file=sys.stderr, flush=True)
    with session_factory.begin() as session:  # type: ignore[attr-defined]
        session.execute(text("ANALYZE"))
    print(f"wrote {count:,} profiles in {time.perf_counter() - started:.0f} s", file=sys.stderr)


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--segments", type=int, default=10)
    parser.add_argument("--pg-port", type=int, default=55942)
    args = parser.parse_args()
    from sqlalchemy import text, update

    from profile_store.segments import parse_text
    from profile_store.segments.membership import apply_batch_memberships
    from profile_store.segments.store import (
        count_members,
        create_segment,
        iter_members,
        members_page,
        reevaluate,
    )
    from profile_store.tables import ProfileRow
    from streams.storage import open_storage

    work = Path(tempfile.mkdtemp(prefix="scrm-segments-bench-"))
    env = {**os.environ, "PGPORT": str(args.pg_port), "PG_DATA_DIR": str(work / "pg")}
    url = local_servers.start("postgres.sh", env)
    try:
        storage = open_storage(url, None)
        clock = datetime(2026, 12, 1, tzinfo=UTC)
        write_profiles(storage.session_factory, args.profiles, clock)
        rows = []
        for name, rule in RULES[: args.segments]:
            t = time.perf_counter()
            with storage.session_factory.begin() as session:
                segment = create_segment(name, parse_text(rule), by="bench", at=clock, session=session)
            created_ms = _ms(t)
            with storage.session_factory.begin() as session:
                session.execute(text("ANALYZE segment_members"))
            with storage.session_factory() as session:
                t = time.perf_counter()
                members_page(name, limit=100, session=session)
                page_ms = _ms(t)
                t = time.perf_counter()
                count_members(name, session=session)
                count_ms = _ms(t)
                tracemalloc.start()
                t = time.perf_counter()
                out = io.StringIO()
                writer = csv.writer(out)
                for n, member in enumerate(iter_members(name, session=session)):
                    writer.writerow(member.csv_row())
                    if n % 2000 == 0:
                        out.seek(0)
                        out.truncate()
                export_s = time.perf_counter() - t
                peak = tracemalloc.get_traced_memory()[1] / 2**20
                tracemalloc.stop()
            t = time.perf_counter()
            with storage.session_factory.begin() as session:
                reevaluate(name, at=clock, session=session)
            full_ms = _ms(t)
            rows.append((name, segment.members, created_ms, page_ms, count_ms, export_s, peak, full_ms))
        rng = random.Random(7)
        live = []
        for _ in range(20):
            changed = {f"c{rng.randrange(args.profiles):08d}": "bench:event" for _ in range(32)}
            t = time.perf_counter()
            with storage.session_factory.begin() as session:
                session.execute(update(ProfileRow).where(ProfileRow.customer_id.in_(list(changed)))
                                .values(lifecycle="fan"))
                apply_batch_memberships(changed, clock, ["bench:event"], session=session)
            live.append(_ms(t))
        storage.close()
    finally:
        local_servers.stop("postgres.sh", env)
    print(f"\n{args.profiles:,} profiles, PostgreSQL (deploy/local), this machine\n")
    print(f"{'segment':<14}{'members':>10}{'create ms':>11}{'page ms':>9}{'count ms':>10}{'export s':>10}"
          f"{'peak MiB':>10}{'re-eval ms':>12}")
    for name, members, created_ms, page_ms, count_ms, export_s, peak, full_ms in rows:
        print(f"{name:<14}{members:>10,}{created_ms:>11.0f}{page_ms:>9.1f}{count_ms:>10.1f}{export_s:>10.1f}"
              f"{peak:>10.1f}{full_ms:>12.0f}")
    print(f"\nlive membership, a batch of 32 changed customers x {args.segments} segments: "
          f"p50 {statistics.median(live):.0f} ms, max {max(live):.0f} ms (update + re-decide, one transaction)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
