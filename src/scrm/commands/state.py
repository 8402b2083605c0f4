"""``scrm profile``, ``scrm alerts``: read the platform's state.

Each reads the embedded data dir by default, or any database given with ``--database-url`` (e.g. the
Kafka runtime's PostgreSQL).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from profile_store.privacy import PrivacyKey
    from streams.storage import Storage


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    profile = subparsers.add_parser(
        "profile", help="print the profile an identity belongs to, as JSON",
        description="Print the customer profile that IDENTITY (e.g. weibo:12345) belongs to, as JSON.",
    )
    profile.add_argument("identity", help="identity key <platform>:<platform_user_id>, or a customer id")
    state_options(profile)
    profile.set_defaults(handler=handle_profile)

    alerts = subparsers.add_parser("alerts", help="list alert incidents with their evidence")
    alerts.add_argument("--state", choices=["open", "acknowledged", "resolved"])
    alerts.add_argument("--kind", choices=["crisis", "opportunity", "coordinated"])
    alerts.add_argument("--severity", type=int, choices=range(1, 6), help="minimum severity")
    alerts.add_argument("--brand")
    alerts.add_argument("--limit", type=int, default=50)
    alerts.add_argument("--json", action="store_true", help="one JSON array instead of a table")
    state_options(alerts)
    alerts.set_defaults(handler=handle_alerts)


def state_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, help="embedded state directory (default: $SCRM_DATA_DIR or .scrm)")
    parser.add_argument("--database-url", help="read this database instead (e.g. the Kafka runtime's PostgreSQL)")


@contextmanager
def state_storage(args: argparse.Namespace, *, create: bool = False) -> Iterator[Storage]:
    """The SQL state ``--database-url`` names, else the ``--data-dir``'s (migrated; closed on exit).
    ``create``: a data dir that does not exist yet is made (for commands that write)."""
    from scrm.wiring import embedded_settings
    from streams.storage import open_storage

    if args.database_url:
        url = args.database_url
    else:
        settings = embedded_settings(args.data_dir)
        if create:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        url = settings.database_url
    storage = open_storage(url, None)
    try:
        yield storage
    finally:
        storage.close()


def privacy_key(args: argparse.Namespace) -> PrivacyKey | None:
    """The suppression list's key for the store ``state_storage`` opens: ``$SCRM_PRIVACY_SECRET``, else (a
    data dir) the data dir's own; ``None`` for ``--database-url`` without the secret."""
    from profile_store.privacy import PrivacyKey
    from scrm.wiring import embedded_settings

    secret = os.environ.get("SCRM_PRIVACY_SECRET", "")
    if secret:
        return PrivacyKey.from_text(secret)
    if args.database_url:
        return None
    return embedded_settings(args.data_dir).privacy_key()


@contextmanager
def state_session(args: argparse.Namespace) -> Iterator[Session]:
    with state_storage(args) as storage, storage.session_factory() as session:
        yield session


def handle_profile(args: argparse.Namespace) -> int:
    from profile_store.repository import find_profile_by_identity, get_profile

    with state_session(args) as session:
        profile = find_profile_by_identity(args.identity, session=session) or get_profile(args.identity, session=session)
    if profile is None:
        print(f"scrm profile: no profile for {args.identity!r}", file=sys.stderr)
        return 1
    print(profile.model_dump_json(indent=2))
    return 0


def handle_alerts(args: argparse.Namespace) -> int:
    from alerts.repository import list_incidents

    with state_session(args) as session:
        incidents = list_incidents(session=session, state=args.state, kind=getattr(args, "kind", None),
                                   min_severity=getattr(args, "severity", None), brand=getattr(args, "brand", None),
                                   limit=args.limit)
    if args.json:
        print(json.dumps([i.model_dump(mode="json") for i in incidents], ensure_ascii=False, indent=2))
    else:
        print_table(
            ["id", "sev", "kind", "state", "rule", "count", "last_seen", "title"],
            [[i.incident_id[:8], i.severity, i.kind, i.state, i.rule, i.count, i.last_seen.isoformat(), i.title[:60]]
             for i in incidents],
        )
    return 0


def print_table(headers: list[str], rows: list[list[Any]]) -> None:
    widths = [max(len(str(v)) for v in [h, *(r[i] for r in rows)]) for i, h in enumerate(headers)]
    for row in [headers, *rows]:
        print("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)))
