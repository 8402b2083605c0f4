"""Cost of the apply, identity and alert lanes per event, without Kafka: parse enriched records, fold
profiles, write PostgreSQL, render the outgoing messages (``streams.lanes.apply``), then
apply the identity signals each batch publishes (the identity lane's handler, in the same thread: the two lanes
share one worker process in production); and apart from them, the alert lane (its handler: parse,
the detectors' ledger, authors' standings, detectors, incidents, outbox) over the same records.

Starts PostgreSQL with ``deploy/local/postgres.sh`` in a temporary directory (non-default port), simulates
``--events`` events of ``--customers`` customers (the platform simulator), enriches them once with the
default enricher (not measured; enrichment has ``bench_enrichment.py``), then for each ``--batch-sizes``
entry applies them to a fresh database. Two phases are measured apart: the first third ("start-up": most
accounts and their e-mails, phones and unionids are seen for the first time, cross-platform accounts
merge) and the rest ("steady"). Prints worker CPU, PostgreSQL CPU and wall time per event and the number
of identity signals: the lanes' capacity on an idle machine is 1 / wall. The alert lane is measured per
``--alert-batch-sizes`` entry on a fresh database (its batches are small: what arrives in one
``batch_max_ms`` window). ``bench_alert_latency.py`` measures the whole pipeline under load.

    python benchmarks/bench_apply.py [--events 30000] [--customers 5000] [--batch-sizes 1000 3000]
                                     [--alert-batch-sizes 100 300 1000]
"""

from __future__ import annotations

import argparse
import functools
import itertools
import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import local_servers
from sqlalchemy import create_engine, text

from enrichment.factory import build_enricher
from ingest.producer import partition_key
from ingest.records import SourceRecord
from ingest.simulator import SimulatorConfig, raw_records
from scrm.heap import settle_heap
from streams.lanes import LaneContext, lane_specs
from streams.loop import Handler
from streams.migrate import upgrade
from streams.settings import WorkerSettings
from streams.storage import Storage, open_storage
from streams.topics import ENRICHED_EVENTS, IDENTITY_LINKS, RAW_EVENTS

PG_PORT = "55498"


def _fresh_database(server_url: str, name: str) -> str:
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        connection.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return server_url.rsplit("/", 1)[0] + f"/{name}"


def _handler(lane: str, settings: WorkerSettings, storage: Storage) -> Handler:
    """The handler a worker's lane runs (``streams.lanes``)."""
    context = LaneContext(pipeline=settings.pipeline, storage=storage,
                          enricher=lambda: build_enricher(settings.enrichment))
    (spec,) = [spec for spec in lane_specs() if spec.name == lane]
    return spec.build(context)


def _postgres_cpu(data_dir: Path) -> float:
    return sum(local_servers.cpu_seconds(local_servers.postgres_pids(data_dir)).values())


def _enriched_records(server_url: str, settings: WorkerSettings, count: int, customers: int) -> list[SourceRecord]:
    """``count`` simulated events as the enrich lane publishes them (keyed by customer)."""
    storage = open_storage(_fresh_database(server_url, "bench_enrich"), None)
    upgrade(storage.engine)
    config = SimulatorConfig(start=datetime(2026, 11, 1, tzinfo=UTC), events_per_hour=1000 * 3600.0,
                             customers=customers, invalid_ratio=0.0)
    raw = [SourceRecord(value=v, topic=RAW_EVENTS, key=partition_key(v)) for v in itertools.islice(raw_records(config), count)]
    enrich = _handler("enrich", settings, storage)
    enriched = [message for start in range(0, count, 1000) for message in enrich(raw[start:start + 1000]).messages
                if message.topic == ENRICHED_EVENTS]
    storage.close()
    return [SourceRecord(value=m.value or b"", topic=ENRICHED_EVENTS, key=m.key, partition=0, offset=n)
            for n, m in enumerate(enriched)]


def _timed(data_dir: Path, count: int, run: Callable[[], int]) -> tuple[float, float, float, int]:
    """``run()`` measured: worker CPU, PostgreSQL CPU and wall time in ms per event of ``count``, and what
    ``run`` returned."""
    pg, cpu, wall = _postgres_cpu(data_dir), time.process_time(), time.perf_counter()
    result = run()
    return ((time.process_time() - cpu) / count * 1e3, (_postgres_cpu(data_dir) - pg) / count * 1e3,
            (time.perf_counter() - wall) / count * 1e3, result)


def _measure(server_url: str, data_dir: Path, settings: WorkerSettings, records: list[SourceRecord],
             batch: int) -> list[tuple[str, float, float, float, int]]:
    """Per phase: (name, worker CPU, PostgreSQL CPU, wall in ms per event, identity signals applied)."""
    storage = open_storage(_fresh_database(server_url, f"bench_apply_{batch}"), None)
    upgrade(storage.engine)
    apply, identity = _handler("apply", settings, storage), _handler("identity", settings, storage)
    settle_heap()  # as ``scrm worker`` does once its lanes are built

    def apply_all(part: list[SourceRecord]) -> int:
        signals = 0
        for start in range(0, len(part), batch):
            links = [SourceRecord(value=m.value or b"", topic=IDENTITY_LINKS, key=m.key)
                     for m in apply(part[start:start + batch]).messages if m.topic == IDENTITY_LINKS]
            if links:
                identity(links)
            signals += len(links)
        return signals

    third = len(records) // 3
    phases = [(name, *_timed(data_dir, len(part), functools.partial(apply_all, part)))
              for name, part in (("start-up", records[:third]), ("steady", records[third:]))]
    storage.close()
    return phases


def _measure_alerts(server_url: str, data_dir: Path, settings: WorkerSettings, records: list[SourceRecord],
                    batch: int) -> tuple[str, float, float, float, int]:
    """The alert lane over every record: (phase, worker CPU, PostgreSQL CPU, wall in ms per event, 0)."""
    storage = open_storage(_fresh_database(server_url, f"bench_alert_{batch}"), None)
    alert = _handler("alert", settings, storage)
    settle_heap()

    def alert_all() -> int:
        for start in range(0, len(records), batch):
            alert(records[start:start + batch])
        return 0

    row = ("all", *_timed(data_dir, len(records), alert_all))
    storage.close()
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=30_000)
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1000, 3000])
    parser.add_argument("--alert-batch-sizes", type=int, nargs="+", default=[100, 300, 1000])
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        os.chmod(directory, 0o755)
        env = {**os.environ, "PG_DATA_DIR": str(directory / "pg"), "PGPORT": PG_PORT}
        server_url = local_servers.start("postgres.sh", env)
        try:
            settings = WorkerSettings(database_url=server_url)
            print(f"enriching {args.events} simulated events ...", file=sys.stderr)
            records = _enriched_records(server_url, settings, args.events, args.customers)
            rows = []
            for batch in args.batch_sizes:
                print(f"applying in batches of {batch} ...", file=sys.stderr)
                for phase in _measure(server_url, directory / "pg" / "pgdata", settings, records, batch):
                    rows.append(("apply", batch, *phase))
            for batch in args.alert_batch_sizes:
                print(f"alerting in batches of {batch} ...", file=sys.stderr)
                rows.append(("alert", batch, *_measure_alerts(server_url, directory / "pg" / "pgdata", settings,
                                                              records, batch)))
        finally:
            local_servers.stop("postgres.sh", env)
    print(f"{args.events} simulated events, {args.customers} customers; lane apply: apply + identity in one thread; "
          "lane alert: the alert lane alone")
    print(f"{'lane':>6}  {'batch':>6}  {'phase':>9}  {'worker CPU ms/event':>20}  {'PostgreSQL CPU ms/event':>24}  "
          f"{'wall ms/event':>14}  {'events/s':>9}  {'identity signals':>17}")
    for lane, batch, phase, cpu, pg, wall, signals in rows:
        print(f"{lane:>6}  {batch:>6}  {phase:>9}  {cpu:>20.3f}  {pg:>24.3f}  {wall:>14.3f}  {1e3 / wall:>9,.0f}  "
              f"{signals:>17,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
