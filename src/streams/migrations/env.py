"""Alembic environment: runs on the connection ``streams.migrate.upgrade`` hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from streams.storage_schema import combined_metadata


def run_migrations_online() -> None:
    connection = context.config.attributes["connection"]
    is_postgres = connection.dialect.name == "postgresql"
    context.configure(
        connection=connection,
        target_metadata=combined_metadata(),
        render_as_batch=not is_postgres,
        compare_type=True,
    )
    with context.begin_transaction():
        if is_postgres:
            connection.execute(text("SELECT pg_advisory_xact_lock(7310025)"))
        context.run_migrations()


run_migrations_online()
