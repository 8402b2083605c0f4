"""``scrm keys``: create, list and revoke the API keys people and services use.

A running ``scrm serve`` or ``scrm api`` on the same database sees a created or revoked key within seconds
(``api.auth.Keyring``). The new key is printed once, alone on the last line of stdout; only its hash is kept.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, date, datetime, time
from pathlib import Path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = subparsers.add_parser(
        "keys", help="manage API keys: create, list, revoke",
        description="API keys name a person or a service and carry one role (agent, marketer, analyst, "
        "ingest, admin); every action taken with a key records its name. Embedded by default (DATA_DIR); "
        "--database-url for the Kafka runtime's database.")
    actions = keys.add_subparsers(dest="action", required=True)

    def place(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--data-dir", type=Path, help="embedded state directory (default: $SCRM_DATA_DIR or .scrm)")
        parser.add_argument("--database-url", help="the Kafka runtime's database instead of a data dir")

    create = actions.add_parser("create", help="create a key; prints it once, on the last line")
    create.add_argument("--name", required=True, help="who holds it: a person (ann@example.com) or a service")
    create.add_argument("--role", required=True, choices=["agent", "marketer", "analyst", "ingest", "admin"])
    create.add_argument("--expires", type=date.fromisoformat, help="last day it works (YYYY-MM-DD, UTC)")
    create.add_argument("--by", help="who creates it (recorded; default: the operating-system user)")
    place(create)
    create.set_defaults(handler=handle_create)

    listing = actions.add_parser("list", help="every key: name, role, state, created, expires (never the key)")
    listing.add_argument("--format", choices=["table", "json"], default="table")
    place(listing)
    listing.set_defaults(handler=handle_list)

    revoke = actions.add_parser("revoke", help="revoke a key by name (it stops working within seconds)")
    revoke.add_argument("name")
    place(revoke)
    revoke.set_defaults(handler=handle_revoke)


def _database_url(args: argparse.Namespace) -> str:
    from scrm.wiring import embedded_settings

    return str(args.database_url or embedded_settings(args.data_dir).database_url)


def handle_create(args: argparse.Namespace) -> int:
    import getpass

    from pydantic import ValidationError

    from api.auth import hash_key, new_key
    from profile_store.api_keys import StoredKey, add_key
    from profile_store.exceptions import KeyNameTaken
    from streams.storage import open_storage

    now = datetime.now(UTC)
    expires = datetime.combine(args.expires, time.max, tzinfo=UTC) if args.expires else None
    if expires is not None and expires <= now:
        print(f"scrm keys create: --expires {args.expires} is in the past", file=sys.stderr)
        return 2
    key, key_id = new_key()
    try:
        record = StoredKey(name=args.name, role=args.role, key_id=key_id, secret_hash=hash_key(key), created_at=now,
                           created_by=args.by or getpass.getuser(), expires_at=expires)
    except ValidationError:
        print(f"scrm keys create: bad --name {args.name!r}: letters, digits and . _ @ + - (up to 128, "
              "starting with a letter or digit)", file=sys.stderr)
        return 2
    storage = open_storage(_database_url(args), None)
    try:
        with storage.session_factory.begin() as session:
            add_key(record, session=session)
    except KeyNameTaken:
        print(f"scrm keys create: a key named {args.name!r} exists or existed; names are not reused", file=sys.stderr)
        return 1
    finally:
        storage.close()
    print(f"created key {args.name!r} (role {args.role}); it is shown once, here:", file=sys.stderr)
    print(key)
    return 0


def handle_list(args: argparse.Namespace) -> int:
    from profile_store.api_keys import list_keys
    from streams.storage import open_storage

    storage = open_storage(_database_url(args), None)
    try:
        with storage.session_factory() as session:
            keys = list_keys(session=session)
    finally:
        storage.close()
    now = datetime.now(UTC)
    rows = [{"name": k.name, "role": k.role, "key_id": k.key_id,
             "state": "revoked" if k.revoked_at else ("active" if k.active(now) else "expired"),
             "created_at": k.created_at.isoformat(), "created_by": k.created_by,
             "expires_at": k.expires_at.isoformat() if k.expires_at else None,
             "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None} for k in keys]
    if args.format == "json":
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    columns = ("name", "role", "state", "key_id", "created_at", "expires_at")
    widths = {c: max([len(c), *(len(str(r[c] or "-")[:25]) for r in rows)]) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns))
    for row in rows:
        print("  ".join(str(row[c] or "-")[:25].ljust(widths[c]) for c in columns))
    return 0


def handle_revoke(args: argparse.Namespace) -> int:
    from profile_store.api_keys import revoke_key
    from streams.storage import open_storage

    storage = open_storage(_database_url(args), None)
    try:
        with storage.session_factory.begin() as session:
            revoked = revoke_key(args.name, datetime.now(UTC), session=session)
    finally:
        storage.close()
    if revoked is None:
        print(f"scrm keys revoke: no key named {args.name!r}", file=sys.stderr)
        return 1
    print(json.dumps({"name": revoked.name, "revoked_at": revoked.revoked_at.isoformat() if revoked.revoked_at else None}))
    return 0
