"""``scrm rescore``: score stored events again with a new model, and let profiles and ClickHouse follow.

``scrm rescore [--model NAME] [--heads-dir DIR] [--since T] [--until T] [--dry-run]`` goes through the stored
events of the range (event time; ISO dates or times, UTC unless they say otherwise) and re-enriches those
the chosen model (default: the deployment's, ``SCRM_ENRICHMENT__MODEL``) did not score, showing progress;
profiles are rebuilt from the new scores, ClickHouse's events replaced and its rollups of those hours
recomputed (``streams.jobs.rescore``). Idempotent: a second run finds nothing to do. Embedded by default
(the data dir must not be held by ``scrm serve`` / ``scrm demo``), or ``--database-url`` with
``--clickhouse-dsn``. Alerts already raised stay as they were.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "rescore", help="re-score stored events with a new model (profiles and ClickHouse follow)",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None)
    parser.add_argument("--model", help="the model to score with: fast, lexicon, e5 or transformers "
                        "(default: $SCRM_ENRICHMENT__MODEL or fast)")
    parser.add_argument("--heads-dir", type=Path, help="where the model's trained heads are (scrm models train)")
    parser.add_argument("--since", type=_when, help="first event time to re-score (ISO date or time)")
    parser.add_argument("--until", type=_when, help="last event time to re-score (ISO date or time)")
    parser.add_argument("--dry-run", action="store_true", help="count what would be re-scored, change nothing")
    parser.add_argument("--data-dir", type=Path, help="embedded state directory (default: $SCRM_DATA_DIR or .scrm)")
    parser.add_argument("--database-url", help="the Kafka runtime's database instead of a data dir")
    parser.add_argument("--clickhouse-dsn", help="with --database-url: its ClickHouse (default: $SCRM_CLICKHOUSE_DSN)")
    parser.set_defaults(handler=handle)


def _when(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO date or time: {value!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def handle(args: argparse.Namespace) -> int:
    from enrichment.config import EnrichmentConfig
    from enrichment.factory import build_enricher
    from scrm.commands.sql import SqlCommandError, free_analytics_dsn
    from scrm.progress import Progress
    from scrm.wiring import embedded_settings
    from streams.jobs.rescore import count_rescorable, rescore
    from streams.settings import WorkerSettings
    from streams.storage import open_storage

    if args.database_url:
        base: EnrichmentConfig = WorkerSettings().enrichment
        url, dsn = args.database_url, args.clickhouse_dsn or os.environ.get("SCRM_CLICKHOUSE_DSN")
    else:
        settings = embedded_settings(args.data_dir)
        if not settings.data_dir.is_dir():
            print(f"scrm rescore: no data dir at {settings.data_dir}", file=sys.stderr)
            return 1
        base, url = settings.enrichment, settings.database_url
        try:
            dsn = free_analytics_dsn(settings.data_dir)
        except SqlCommandError as exc:
            print(f"scrm rescore: {exc}; stop it first", file=sys.stderr)
            return 2
    updates = {k: v for k, v in (("model", args.model), ("heads_dir", args.heads_dir)) if v is not None}
    try:
        config = EnrichmentConfig.model_validate({**base.model_dump(), **updates})
    except ValueError as exc:
        print(f"scrm rescore: {exc}", file=sys.stderr)
        return 2
    enricher = build_enricher(config)
    storage = open_storage(url, dsn)
    try:
        total = count_rescorable(storage.session_factory, since=args.since, until=args.until)
        progress = Progress("events")
        progress.label = f"of {total:,} in the range"
        result = rescore(storage.session_factory, storage.analytics, enricher, since=args.since, until=args.until,
                         dry_run=args.dry_run, progress=progress.tick)
        progress.done()
    finally:
        storage.close()
    verb = "would re-score" if args.dry_run else "re-scored"
    print(f"{verb} {result.rescored} of {result.seen} events with {result.model.name} {result.model.version}"
          + ("" if args.dry_run else f"; {result.profiles} profiles rebuilt")
          + (f"; event time {result.since:%Y-%m-%d %H:%M} to {result.until:%Y-%m-%d %H:%M} UTC"
             if result.since and result.until else ""))
    return 0
