"""``scrm db``: migrate the platform database, or write a new migration (developers)."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("db", help="database migrations (Alembic)")
    actions = parser.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    up = actions.add_parser("upgrade", help="migrate a database to the current schema (workers do this on start)")
    up.add_argument("--database-url", help="default: the embedded data dir's SQLite file")
    up.add_argument("--data-dir", type=Path)
    up.set_defaults(handler=handle_upgrade)
    revision = actions.add_parser("revision", help="autogenerate a migration from the model changes")
    revision.add_argument("-m", "--message", required=True)
    revision.set_defaults(handler=handle_revision)


def handle_upgrade(args: argparse.Namespace) -> int:
    from profile_store.database import make_engine
    from scrm.wiring import embedded_settings
    from streams.migrate import upgrade

    url = args.database_url or embedded_settings(args.data_dir).database_url
    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    print(f"{url.split('@')[-1]}: at the current schema")
    return 0


def handle_revision(args: argparse.Namespace) -> int:
    from alembic import command

    from profile_store.database import make_engine
    from streams.migrate import alembic_config, upgrade

    with tempfile.TemporaryDirectory() as scratch:
        engine = make_engine(f"sqlite:///{scratch}/schema.db")
        upgrade(engine)
        config = alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.revision(config, message=args.message, autogenerate=True)
        engine.dispose()
    return 0
