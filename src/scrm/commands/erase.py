"""``scrm erase``: remove a person from every store, for good (PIPL / GDPR; docs/privacy.md).

``scrm erase ID`` (an identity key such as ``weibo:123`` or a customer id) erases the customer with every
identity merged into them; ``--verify ID`` reports what is left of any key or id of theirs (exit 0 when
nothing, 1 when traces remain). Embedded by default (``--data-dir``; the data dir must not be open in a
running ``scrm serve`` / ``scrm demo``: use its ``DELETE /v1/customers/{id}`` then); ``--database-url`` with
``--clickhouse-dsn`` and ``--kafka-bootstrap`` for the Kafka runtime, whose secret comes from
``SCRM_PRIVACY_SECRET``. On a terminal it asks before erasing unless ``--yes``; elsewhere it never asks.
``--audit N`` lists the newest erasures. Exit codes: 0 done, 1 nothing by that id (or traces left, with
``--verify``), 2 a usage or setup error.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scrm.erasing import Verify
    from streams.storage import Storage


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "erase", help="erase a person from every store (or --verify that none is left)",
        description="Erase a customer (a customer id or any identity key of theirs, e.g. weibo:123) with every "
        "identity merged into them: profiles, identities, events, alerts evidence (redacted), segments, dead "
        "letters, ClickHouse and the compacted topics; their keys are remembered (keyed hash) so replays and new "
        "deliveries are suppressed. Audited. See docs/privacy.md.")
    parser.add_argument("subject", nargs="?", help="a customer id or an identity key (platform:user_id, email:..., crm:...)")
    parser.add_argument("--reason", help="why (kept in the audit; do not write personal data here)")
    parser.add_argument("--by", help="who asks (default: the operating-system user)")
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    parser.add_argument("--verify", action="store_true", help="only look for traces of SUBJECT in every store")
    parser.add_argument("--audit", type=int, metavar="N", help="list the newest N erasures (who, when, rows per store)")
    parser.add_argument("--data-dir", type=Path, help="embedded state directory (default: $SCRM_DATA_DIR or .scrm)")
    parser.add_argument("--database-url", help="the Kafka runtime's database instead of a data dir")
    parser.add_argument("--clickhouse-dsn", help="with --database-url: the ClickHouse server (default $SCRM_CLICKHOUSE_DSN)")
    parser.add_argument("--kafka-bootstrap", help="with --database-url: the broker for the compacted topics' tombstones "
                        "(default $SCRM_KAFKA_BOOTSTRAP)")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from scrm.commands.sql import SqlCommandError, free_analytics_dsn
    from scrm.commands.state import privacy_key
    from scrm.erasing import Erase, embedded_erasure_offline, kafka_erasure, producer_config
    from streams.storage import open_storage

    if args.subject is None and args.audit is None:
        print("scrm erase: give a SUBJECT (a customer id or identity key), or --audit N", file=sys.stderr)
        return 2
    storage: Storage
    erase: Erase
    verify: Verify
    privacy = privacy_key(args)
    if args.database_url:
        from ingest.kafka_connection import KafkaConnection

        if privacy is None:
            print("scrm erase: set SCRM_PRIVACY_SECRET to the deployment's secret (the workers' and the API's): "
                  "the suppression list is keyed by it", file=sys.stderr)
            return 2
        bootstrap = args.kafka_bootstrap or os.environ.get("SCRM_KAFKA_BOOTSTRAP")
        if not bootstrap and not args.verify:
            print("scrm erase: --kafka-bootstrap (or SCRM_KAFKA_BOOTSTRAP) is needed for the compacted topics' "
                  "tombstones", file=sys.stderr)
            return 2
        storage = open_storage(args.database_url, args.clickhouse_dsn or os.environ.get("SCRM_CLICKHOUSE_DSN"))
        config = producer_config(KafkaConnection().librdkafka(bootstrap or ""), "scrm-erase")
        erase, verify = kafka_erasure(storage, privacy, config)
    else:
        from scrm.wiring import embedded_settings

        settings = embedded_settings(args.data_dir)
        try:
            free_analytics_dsn(settings.data_dir)
        except SqlCommandError as exc:
            print(f"scrm erase: {exc}; or erase through its API: DELETE /v1/customers/{{id}} with an admin key",
                  file=sys.stderr)
            return 2
        storage = open_storage(settings.database_url, settings.analytics_dsn)
        assert privacy is not None  # a data dir always has a key
        erase, verify = embedded_erasure_offline(storage, privacy)
    try:
        if args.audit is not None:
            return _report_audit(storage, args.audit)
        if args.verify:
            return _report_verification(args.subject, verify)
        if sys.stdin.isatty() and not args.yes:
            answer = input(f"Erase {args.subject} and every identity merged into them from every store? "
                           "This cannot be undone. [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                print("nothing erased", file=sys.stderr)
                return 1
        record = erase(args.subject, args.by or getpass.getuser(), args.reason)
        if record is None:
            print(f"scrm erase: no customer or identity {args.subject!r} in this store (nothing erased, nothing "
                  "listed)", file=sys.stderr)
            return 1
        print(f"erasure {record.erasure_id} by {record.requested_by} at {record.requested_at:%Y-%m-%d %H:%M:%S} UTC")
        for store, rows in sorted(record.counts.items()):
            print(f"  {store:<40} {rows:>8}")
        return 0
    finally:
        storage.close()


def _report_audit(storage: Storage, limit: int) -> int:
    from profile_store.privacy import list_erasures

    with storage.session_factory() as session:
        records = list_erasures(limit=limit, session=session)
    for record in records:
        rows = sum(v for k, v in record.counts.items() if k.startswith(("sql.", "clickhouse.")) and "old_parts" not in k)
        state = "done" if record.completed_at else "NOT COMPLETED"
        print(f"{record.requested_at:%Y-%m-%d %H:%M:%S} {record.erasure_id} by {record.requested_by}: {state}, "
              f"{rows} rows, {record.counts.get('suppressed_keys', 0)} keys listed"
              f"{f' ({record.reason})' if record.reason else ''}")
    print(f"{len(records)} erasure(s)")
    return 0


def _report_verification(subject: str, verify: Verify) -> int:
    listed, traces, erasures = verify(subject)
    left = {store: rows for store, rows in traces.items() if rows}
    print(f"suppression list: {'holds' if listed else 'does NOT hold'} {subject}")
    for record in erasures:
        print(f"erasure {record.erasure_id} by {record.requested_by} at {record.requested_at:%Y-%m-%d %H:%M:%S} UTC"
              f"{'' if record.completed_at else ' (not completed: run scrm erase again)'}")
    if not left:
        print(f"no trace of {subject} in {len(traces)} tables")
        return 0 if listed else 1
    for store, rows in sorted(left.items()):
        print(f"  {store:<40} {rows:>8} rows still name it")
    return 1
