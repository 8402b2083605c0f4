"""``scrm retention run [--dry-run]``: apply the retention policy now (docs/operations.md, "Retention").

The running pipeline does this by itself every ``SCRM_PIPELINE__RETENTION_INTERVAL_SECONDS``; this command
runs one pass by hand, or, with ``--dry-run``, counts what a pass would blank or delete and changes nothing.
Embedded by default (the data dir's SQLite and chDB: the data dir must not be held by ``scrm serve`` or
``scrm demo``), or the Kafka runtime's stores with ``--database-url`` (and ``--clickhouse-dsn`` or
``$SCRM_CLICKHOUSE_DSN`` for ClickHouse). The policy is the deployment's: ``SCRM_PIPELINE__RETENTION__*``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    retention = subparsers.add_parser(
        "retention", help="apply the retention policy now (or count what it would remove)",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None)
    actions = retention.add_subparsers(dest="action", required=True)
    run = actions.add_parser("run", help="one retention pass; prints rows blanked or deleted per store")
    run.add_argument("--dry-run", action="store_true", help="count what would be blanked or deleted, change nothing")
    run.add_argument("--data-dir", type=Path, help="embedded state directory (default: $SCRM_DATA_DIR or .scrm)")
    run.add_argument("--database-url", help="the Kafka runtime's database instead of a data dir")
    run.add_argument("--clickhouse-dsn", help="with --database-url: its ClickHouse (default: $SCRM_CLICKHOUSE_DSN)")
    run.set_defaults(handler=handle_run)


def handle_run(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from scrm.commands.sql import SqlCommandError, free_analytics_dsn
    from scrm.commands.state import print_table
    from scrm.wiring import embedded_settings
    from streams.jobs.retention import apply_retention
    from streams.settings import WorkerSettings
    from streams.storage import open_storage

    if args.database_url:
        policy = WorkerSettings().pipeline.retention
        url, dsn = args.database_url, args.clickhouse_dsn or os.environ.get("SCRM_CLICKHOUSE_DSN")
    else:
        if args.clickhouse_dsn:
            print("scrm retention run: --clickhouse-dsn goes with --database-url", file=sys.stderr)
            return 2
        settings = embedded_settings(args.data_dir)
        if not settings.data_dir.is_dir():
            print(f"scrm retention run: no data dir at {settings.data_dir}", file=sys.stderr)
            return 1
        policy, url = settings.pipeline.retention, settings.database_url
        try:
            dsn = free_analytics_dsn(settings.data_dir)
        except SqlCommandError as exc:
            print(f"scrm retention run: the data dir {settings.data_dir} is busy or unreadable ({exc.code}); "
                  "a running scrm serve or scrm demo applies the policy itself", file=sys.stderr)
            return exc.code
    storage = open_storage(url, dsn)
    try:
        counts = apply_retention(storage.session_factory, storage.analytics, policy, now=datetime.now(UTC),
                                 dry_run=args.dry_run)
    finally:
        storage.close()
    print_table(["store", "action", "rows"], [[store, what, rows] for store, what, rows in counts.table()])
    if args.dry_run:
        print("dry run: the rows above would go; nothing was changed")
    return 0
