"""``scrm import-crm`` and ``scrm export-crm``: the traditional CRM's customers in, and back out with what
the social side learned (docs/importers.md, "CRM files")."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from scrm.commands.state import state_options

if TYPE_CHECKING:
    from profile_store.crm_import import CrmImport
    from streams.storage import Storage

EXIT_REFUSED = 1


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    imports = subparsers.add_parser(
        "import-crm",
        help="import a CRM export (CSV or JSON lines): attributes, consent, stage and identity links",
        description="Each row of FILE (CSV with a header row, or JSON lines) becomes the CRM record of its "
        "crm_id: typed attributes, consent and stage on the profile of crm:<crm_id> (created for a customer "
        "only the CRM knows), linked to the row's email, phone and social handles. Importing a changed file "
        "updates the attributes and nothing else. Rows that do not map are reported with their row number "
        "and the reason. See docs/importers.md.",
    )
    imports.add_argument("file", type=Path)
    imports.add_argument("--format", choices=["csv", "jsonl"],
                         help="the file's format (default: from its extension; .jsonl/.ndjson/.json are JSON lines)")
    imports.add_argument("--clickhouse-dsn", help="with --database-url: its ClickHouse, from which customers the "
                         "file withdraws analytics consent are removed (default: $SCRM_CLICKHOUSE_DSN; a data dir "
                         "uses its own)")
    state_options(imports)
    imports.set_defaults(handler=handle_import)

    exports = subparsers.add_parser(
        "export-crm",
        help="export one row per customer for the CRM: crm_id, identities, lifecycle, influence, sentiment, "
        "segments, consent and CRM attributes",
        description="Write every customer (or, with --crm-only, those with a crm_id) as CSV or JSON lines, in "
        "the columns import-crm reads. See docs/importers.md.",
    )
    exports.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    exports.add_argument("--out", type=Path, help="the file to write (default: standard output)")
    exports.add_argument("--crm-only", action="store_true", help="only customers the CRM knows (with a crm_id)")
    state_options(exports)
    exports.set_defaults(handler=handle_export)


def handle_import(args: argparse.Namespace) -> int:
    from profile_store.crm_import import parse_crm_csv, parse_crm_jsonl
    from scrm.commands.state import privacy_key, state_storage
    from streams.jobs.crm_import import import_crm

    if not args.file.is_file():
        print(f"scrm import-crm: no such file: {args.file}", file=sys.stderr)
        return 2
    jsonl = (args.format or ("jsonl" if args.file.suffix.lower() in {".jsonl", ".ndjson", ".json"} else "csv")) == "jsonl"
    at = datetime.now(UTC)
    try:
        with args.file.open(encoding="utf-8-sig", newline="") as handle:
            parse = parse_crm_jsonl if jsonl else parse_crm_csv
            imported = parse(handle, source_name=args.file.name, at=at)
    except (OSError, UnicodeDecodeError) as exc:
        print(f"scrm import-crm: {args.file}: cannot read: {type(exc).__name__}", file=sys.stderr)
        return EXIT_REFUSED
    for error in imported.errors:
        print(f"scrm import-crm: {args.file.name}: {error}", file=sys.stderr)
    if imported.ignored_columns:
        print(f"scrm import-crm: ignored computed columns: {', '.join(imported.ignored_columns)}", file=sys.stderr)
    privacy = privacy_key(args)
    if privacy is None:
        print("scrm import-crm: set SCRM_PRIVACY_SECRET (the deployment's, docs/privacy.md) with --database-url: "
              "erased people must not come back with an import", file=sys.stderr)
        return 2
    with state_storage(args, create=True) as storage:
        result = import_crm(imported, source=args.file.name, at=at, session_factory=storage.session_factory,
                            privacy=privacy)
        excluded = _exclude_withdrawn(args, imported, storage)
    print(json.dumps({"rows": imported.rows, "imported": len(imported.records),
                      "rows_rejected": len({error.row for error in imported.errors}), "errors": len(imported.errors),
                      **result.__dict__, "excluded_from_analytics": excluded}))
    return EXIT_REFUSED if imported.errors and not imported.records else 0


def _exclude_withdrawn(args: argparse.Namespace, imported: CrmImport, storage: Storage) -> int | None:
    """Remove from ClickHouse the customers the file withdraws analytics consent from; ``None`` (and a line
    on stderr) when this command cannot reach ClickHouse (the writer still writes nothing new of them)."""
    import os

    from analytics.client import connect
    from analytics.schema import migrate
    from scrm.commands.sql import SqlCommandError, free_analytics_dsn
    from scrm.wiring import embedded_settings
    from streams.jobs.crm_import import exclude_withdrawn

    if not any(record.consent.analytics is False for record in imported.records):
        return 0
    if args.database_url:
        dsn = args.clickhouse_dsn or os.environ.get("SCRM_CLICKHOUSE_DSN")
    else:
        try:
            dsn = free_analytics_dsn(embedded_settings(args.data_dir).data_dir)
        except SqlCommandError:
            dsn = None
    if not dsn:
        print("scrm import-crm: some rows withdraw analytics consent; their earlier rows stay in ClickHouse until "
              "removed (give --clickhouse-dsn, run this with the data dir free, or withdraw through "
              "PUT /v1/profiles/{id}/consent)", file=sys.stderr)
        return None
    client = connect(dsn)
    try:
        migrate(client)
        return exclude_withdrawn(imported, session_factory=storage.session_factory, analytics=client)
    finally:
        client.close()


def handle_export(args: argparse.Namespace) -> int:
    from profile_store.crm_export import attribute_headers, iter_export_rows, render_csv, render_jsonl
    from scrm.commands.state import state_storage

    with state_storage(args) as storage, storage.session_factory() as session:
        rows = iter_export_rows(session=session, crm_only=args.crm_only)
        chunks = render_jsonl(rows) if args.format == "jsonl" else render_csv(rows, attribute_headers(session=session))
        if args.out is None:
            for chunk in chunks:
                sys.stdout.write(chunk)
            return 0
        with args.out.open("w", encoding="utf-8", newline="") as out:
            for chunk in chunks:
                out.write(chunk)
    return 0
