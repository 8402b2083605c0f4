"""``scrm import-crm`` and ``scrm identities``: feed the identity graph and run its jobs."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    crm = subparsers.add_parser(
        "import-crm",
        help="link identities from a CRM export (CSV: crm_id,name,email,phone,handles)",
        description="Each CSV row links crm:<crm_id> to the row's email, phone and social handles (column "
        "'handles' with keys like weibo:123;douyin:abc, or one column per platform). Embedded by default "
        "(applied to DATA_DIR); with --bootstrap the links are published to scrm.identity.links on Kafka.",
    )
    crm.add_argument("file", type=Path)
    crm.add_argument("--data-dir", type=Path, help="embedded state directory (default: $SCRM_DATA_DIR or .scrm)")
    crm.add_argument("--bootstrap", help="publish to this Kafka cluster instead of applying to a data dir")
    crm.set_defaults(handler=handle_import)

    jobs = subparsers.add_parser(
        "identities",
        help="run identity jobs now: network centrality and match suggestions",
        description="Recompute PageRank centrality (influence) and refresh identity match suggestions.",
    )
    jobs.add_argument("--data-dir", type=Path, help="embedded state directory")
    jobs.add_argument("--database-url", help="the Kafka runtime's database instead of a data dir")
    jobs.add_argument("--min-score", type=float, default=0.5, help="lowest suggestion score kept")
    jobs.set_defaults(handler=handle_jobs)


def handle_import(args: argparse.Namespace) -> int:
    from profile_store.crm_import import parse_crm_csv

    if not args.file.is_file():
        print(f"scrm import-crm: no such file: {args.file}", file=sys.stderr)
        return 2
    with args.file.open(encoding="utf-8-sig", newline="") as handle:
        imported = parse_crm_csv(handle, source_name=args.file.name, at=datetime.now(UTC))
    for error in imported.errors:
        print(f"scrm import-crm: {error}", file=sys.stderr)
    if args.bootstrap:
        from ingest.producer import publish_raw
        from streams.settings import WorkerSettings
        from streams.topics import IDENTITY_LINKS

        publish_raw(args.bootstrap, [s.model_dump_json().encode() for s in imported.signals], topic=IDENTITY_LINKS,
                    connection=WorkerSettings().kafka)
        merges = None
    else:
        from scrm.wiring import embedded_settings, open_state
        from streams.identity_service import apply_link_signals

        with open_state(embedded_settings(args.data_dir)) as storage:
            changes = apply_link_signals(imported.signals, session_factory=storage.session_factory)
        merges = sum(1 for record in changes.history if record.kind == "merge")
    print(json.dumps({"rows": imported.rows, "links": len(imported.signals), "errors": len(imported.errors), "merges": merges}))
    return 1 if imported.errors and not imported.signals else 0


def handle_jobs(args: argparse.Namespace) -> int:
    from scrm.wiring import embedded_settings
    from streams.jobs.centrality import recompute_centrality
    from streams.jobs.suggestions import refresh_suggestions
    from streams.storage import open_storage

    url = args.database_url or embedded_settings(args.data_dir).database_url
    storage = open_storage(url, None)
    try:
        run = recompute_centrality(storage.session_factory)
        suggestions, _ = refresh_suggestions(storage.session_factory, min_score=args.min_score)
    finally:
        storage.close()
    print(json.dumps({"centrality": run.__dict__, "suggestions": len(suggestions)}))
    return 0
