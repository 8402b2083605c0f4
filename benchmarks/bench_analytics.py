"""Analytics on chDB at scale: ingest rate, bytes per event, rollup vs raw, the dashboard queries' latency.

    PYTHONPATH=src python benchmarks/bench_analytics.py [--events 10000000] [--batch 50000] [--runs 30]
        [--data-dir DIR]

Generates ``--events`` events (60 days in event-time order, 6 platforms, 6 brands, 200,000 authors, a
quarter of them engagement without text) and writes them into a fresh chDB store through the real schema
(``analytics.schema.migrate``: events and every rollup's materialised view) and writer
(``analytics.writer.write_events``, batches of ``--batch``: its key lookup included), and a profile per
author with every 20th author's account merged into the next author's customer (identity rows and redirects:
the tables the leaderboard joins). ``--existing`` reuses a store made before (migrating it, timed). Then
measures, on the store: bytes per event (``system.parts``), thirty days of hourly sentiment for one brand from the rollup and
from raw events (median of ``--runs``, and the ratio; the two answers are checked equal), and p50/p99 over
``--runs`` of each query the ``/v1/analytics`` routes (the console's dashboard) run. Progress on stderr;
prints a table; never asserts.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from analytics.client import AnalyticsClient, chdb_dsn, connect
from analytics.queries import breakdown, count_events, latest_event_time
from analytics.rollups import (
    Filters,
    influencers,
    sentiment_breakdown,
    sentiment_over_time,
    sentiment_series,
    share_of_voice,
    top_topics,
)
from analytics.schema import PROFILES_TABLE, ROLLUPS, migrate
from analytics.writer import EventRow, ProfileRow, write_events, write_identity_changes, write_profiles

END = datetime(2026, 11, 30, tzinfo=UTC)
SPAN = timedelta(days=60)
PLATFORMS = ("weibo", "douyin", "xiaohongshu", "wechat", "x", "reddit")
BRANDS = ("acme", "globex", "initech", "umbrella", "hooli", "")
LANGUAGES = ("zh-Hans", "zh-Hans", "zh-Hans", "en", "zh-Hant", "other")
TOPICS = ("battery", "price", "service", "delivery", "quality", "refund", "design", "camera", "screen", "app")
TEXTS = {
    "negative": ("terrible quality, broken after a day, I want a refund", "客服太差了，退款！", "worst delivery ever"),
    "neutral": ("got it yesterday", "有人用过吗？", "which colour should I get"),
    "positive": ("love it, great service", "非常好用，推荐", "best camera I have had"),
}
AUTHORS = 200_000
BRAND = "acme"


def _events(start: int, count: int, total: int, rng: random.Random, customers: list[str]) -> list[EventRow]:
    rows = []
    step = SPAN / total
    for i in range(start, start + count):
        author = int(rng.paretovariate(1.2)) % AUTHORS if rng.random() < 0.5 else rng.randrange(AUTHORS)
        platform = PLATFORMS[author % len(PLATFORMS)]
        at = END - SPAN + step * i
        engagement = rng.random() < 0.25
        label = None if engagement else rng.choices(("negative", "neutral", "positive"), (2, 5, 3))[0]
        score = None if label is None else {"negative": -0.7, "neutral": 0.0, "positive": 0.6}[label] + rng.random() / 5
        rows.append(EventRow(
            event_key=f"{platform}:a{author}/e{i}", event_id=f"e{i}", customer_id=customers[author], platform=platform,
            kind="like" if engagement else "post", brand=rng.choice(BRANDS), occurred_at=at, author_id=f"a{author}",
            author_followers=(author * 7919) % 100_000, text="" if label is None else rng.choice(TEXTS[label]),
            language=rng.choice(LANGUAGES), sentiment_label=label, sentiment_score=score,
            sentiment_confidence=None if label is None else 0.8,
            topics=[] if engagement else rng.sample(TOPICS, rng.randrange(3)), intents=[],
            spam=0.0, likes=rng.randrange(20), shares=rng.randrange(3), replies=rng.randrange(5),
            model_name="lexicon", model_version="1", ingested_at=at + timedelta(seconds=2),
        ))
    return rows


def _customers(rng: random.Random) -> list[str]:
    """Each author's customer id (the first draws of ``rng``)."""
    return [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(AUTHORS)]


def _people(client: AnalyticsClient) -> int:
    """A profile per author's customer and, as merges leave them, every 20th author's account moved to the
    next author's customer (an identity row and a redirect each): the tables the leaderboard joins. Returns
    how many merges."""
    customers = _customers(random.Random(7))
    for start in range(0, AUTHORS, 50_000):
        write_profiles(client, [ProfileRow(
            customer_id=customers[i], version=1, is_deleted=0, display_name=f"author {i}",
            identities=[f"{PLATFORMS[i % len(PLATFORMS)]}:a{i}"], first_seen=END - SPAN, last_seen=END, event_count=50,
            lifecycle="fan", followers=(i * 7919) % 100_000, verified=False, influence=(i % 1000) / 1000,
            churn_risk=0.1, sentiment_ewma=0.0, positive=1, neutral=1, negative=1, brands={}, topics={}, crm_id=None,
        ) for i in range(start, min(AUTHORS, start + 50_000))], version=1)
    merged = range(0, AUTHORS - 1, 20)
    write_identity_changes(client, assignments={f"{PLATFORMS[i % len(PLATFORMS)]}:a{i}": customers[i + 1] for i in merged},
                           redirects={customers[i]: customers[i + 1] for i in merged}, version=2)
    write_profiles(client, [], deleted=[customers[i] for i in merged], version=2)
    return len(merged)


def _ingest(client: AnalyticsClient, total: int, batch: int) -> float:
    """Write ``total`` events in batches; returns seconds spent in ``write_events`` (generation excluded)."""
    rng = random.Random(7)
    customers = _customers(rng)
    spent = 0.0
    for start in range(0, total, batch):
        rows = _events(start, min(batch, total - start), total, rng, customers)
        began = time.perf_counter()
        write_events(client, rows)
        spent += time.perf_counter() - began
        done = start + len(rows)
        print(f"\r  {done:,} / {total:,} events, {done / spent:,.0f}/s in the writer", end="", file=sys.stderr,
              flush=True)
    print(file=sys.stderr)
    return spent


def _count_profiles(client: AnalyticsClient) -> int:
    return int(client.query(f"SELECT count() FROM {client.database}.{PROFILES_TABLE}")[1][0][0])


def _bytes(client: AnalyticsClient) -> dict[str, int]:
    _, rows = client.query("SELECT table, sum(bytes_on_disk) FROM system.parts WHERE database = {db:String} "
                           "AND active GROUP BY table", {"db": client.database})
    return {table: int(size) for table, size in rows}


def _times(run: Callable[[], Any], runs: int) -> list[float]:
    run()  # warm
    out = []
    for _ in range(runs):
        began = time.perf_counter()
        run()
        out.append((time.perf_counter() - began) * 1e3)
    return out


def _p99(values: list[float]) -> float:
    return sorted(values)[min(len(values) - 1, round(0.99 * (len(values) - 1)))]


def _rollup_vs_raw(client: AnalyticsClient, runs: int) -> tuple[float, float, bool]:
    db = client.database
    window = "bucket > {t:DateTime64(3)} - INTERVAL 30 DAY"
    rollup = (f"SELECT bucket, sum(events), sum(negative), sum(positive) FROM {db}.sentiment_hour "
              f"WHERE brand = {{brand:String}} AND topic = '' AND {window} GROUP BY bucket ORDER BY bucket")
    raw = (f"SELECT toStartOfHour(occurred_at) AS bucket, count(), countIf(sentiment_label = 'negative'), "
           f"countIf(sentiment_label = 'positive') FROM {db}.events FINAL WHERE brand = {{brand:String}} "
           f"AND sentiment_label IS NOT NULL AND {window} GROUP BY bucket ORDER BY bucket")
    parameters = {"brand": BRAND, "t": latest_event_time(client)}
    same = client.query(rollup, parameters)[1] == client.query(raw, parameters)[1]
    return (statistics.median(_times(lambda: client.query(rollup, parameters), runs)),
            statistics.median(_times(lambda: client.query(raw, parameters), runs)), same)


def _dashboard(client: AnalyticsClient) -> dict[str, Callable[[], Any]]:
    """What the ``/v1/analytics`` routes run with their defaults (windows end at the newest event)."""
    latest = latest_event_time(client)
    assert latest is not None
    day, week = Filters(since=latest - timedelta(hours=24)), Filters(since=latest - timedelta(days=7))
    return {
        "newest event (every route)": lambda: latest_event_time(client),
        "sentiment 24h / 30 min": lambda: sentiment_over_time(client, day, bucket_minutes=30),
        "sentiment series 30d / 1 h": lambda: sentiment_series(client, Filters(brand=BRAND, since=latest - timedelta(days=30))),
        "sentiment by platform 24h": lambda: sentiment_breakdown(client, day, by="platform"),
        "sentiment by topic 24h": lambda: sentiment_breakdown(client, day, by="topic"),
        "share of voice 7d": lambda: share_of_voice(client, week),
        "share of voice 7d / 24 h": lambda: share_of_voice(client, week, bucket_hours=24),
        "top topics 24h": lambda: top_topics(client, day),
        "topics 7d, one brand": lambda: top_topics(client, Filters(brand=BRAND, since=week.since)),
        "influencers 24h": lambda: influencers(client, day),
        "raw breakdown platform 24h": lambda: breakdown(client, by="platform", since=day.since),
        "raw breakdown brand 24h": lambda: breakdown(client, by="brand", since=day.since),
        "raw breakdown language 24h": lambda: breakdown(client, by="language", since=day.since),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--batch", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--data-dir", type=Path, default=None, help="a new chDB path (default: a temporary one)")
    parser.add_argument("--existing", action="store_true",
                        help="--data-dir holds a store this script made before: migrate it (timed) and measure, "
                        "without generating events again")
    args = parser.parse_args()
    if args.existing and args.data_dir is None:
        parser.error("--existing needs --data-dir")
    with tempfile.TemporaryDirectory(prefix="bench-analytics-") as tmp:
        client = connect(chdb_dsn((args.data_dir or Path(tmp)) / "analytics"))
        began = time.perf_counter()
        applied = migrate(client)
        migrate_s = time.perf_counter() - began
        if args.existing:
            ingest_s = None
            args.events = count_events(client)
        else:
            ingest_s = _ingest(client, args.events, args.batch)
        merges = _people(client) if not _count_profiles(client) else None
        client.command(f"OPTIMIZE TABLE {client.database}.events FINAL")  # the merged state a day later
        sizes = _bytes(client)
        rollup_ms, raw_ms, same = _rollup_vs_raw(client, args.runs)
        timings = {name: _times(run, args.runs) for name, run in _dashboard(client).items()}
        client.close()

    rollups = sum(size for table, size in sizes.items() if table in ROLLUPS)
    print(f"\n{args.events:,} generated events, chDB (in-process), batches of {args.batch:,}, this machine\n")
    print(f"migrations applied {applied or 'none'} in {migrate_s:.1f} s; profiles {AUTHORS:,} (one per author), "
          f"merges {merges if merges is not None else 'as stored'} (identity rows and redirects the reads join)")
    if ingest_s is not None:
        print(f"ingest through write_events   {args.events / ingest_s:>12,.0f} events/s ({ingest_s:.0f} s)")
    print(f"bytes per event: events table {sizes.get('events', 0) / args.events:>10.1f}   "
          f"rollups {rollups / args.events:.1f}   total on disk {sum(sizes.values()) / 2**20:,.0f} MiB")
    print(f"30 days hourly sentiment, one brand: rollup {rollup_ms:.1f} ms, raw events {raw_ms:.1f} ms, "
          f"ratio {raw_ms / rollup_ms:.0f}x (answers {'equal' if same else 'DIFFER'})\n")
    print(f"{'dashboard query':<30}{'p50 ms':>9}{'p99 ms':>9}   ({args.runs} runs each)")
    for name, values in timings.items():
        print(f"{name:<30}{statistics.median(values):>9.1f}{_p99(values):>9.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
