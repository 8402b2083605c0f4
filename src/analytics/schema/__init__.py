"""The ClickHouse schema: table names (``tables``), the versioned migrations (``migrations``) and ``migrate``,
which brings a store to the newest version."""

from __future__ import annotations

from datetime import UTC, datetime

from analytics.client import AnalyticsClient
from analytics.schema.migrations import MIGRATIONS, Migration
from analytics.schema.tables import (
    ALL_TOPICS,
    BRAND_VOICE_HOUR,
    EVENT_COLUMNS,
    EVENTS_HOUR,
    EVENTS_TABLE,
    EVENTS_VIEW,
    IDENTITIES_TABLE,
    IDENTITY_COLUMNS,
    INFLUENCERS_HOUR,
    MIGRATIONS_TABLE,
    PROFILE_COLUMNS,
    PROFILES_TABLE,
    REDIRECT_COLUMNS,
    REDIRECTS_TABLE,
    ROLLUPS,
    SENTIMENT_HOUR,
    SENTIMENT_MINUTE,
    TOPICS_HOUR,
)

__all__ = [
    "ALL_TOPICS", "BRAND_VOICE_HOUR", "EVENTS_HOUR", "EVENTS_TABLE", "EVENTS_VIEW", "EVENT_COLUMNS", "IDENTITIES_TABLE",
    "IDENTITY_COLUMNS", "INFLUENCERS_HOUR", "MIGRATIONS", "MIGRATIONS_TABLE", "PROFILES_TABLE", "PROFILE_COLUMNS",
    "REDIRECTS_TABLE", "REDIRECT_COLUMNS", "ROLLUPS", "SENTIMENT_HOUR", "SENTIMENT_MINUTE", "TOPICS_HOUR",
    "Migration", "applied_versions", "migrate",
]


def migrate(client: AnalyticsClient, migrations: tuple[Migration, ...] = MIGRATIONS) -> list[int]:
    """Create the database and apply, in order, every migration not yet recorded in ``schema_migrations``;
    returns the versions applied now (empty when the store was current). Idempotent: running it again
    applies nothing. Blocks; raises the driver's errors (then the failed migration and those after it stay
    unrecorded, and the next run resumes there). Run it before writers start (rollups are backfilled)."""
    db = client.database
    client.command(f"CREATE DATABASE IF NOT EXISTS {db}")
    client.command(
        f"CREATE TABLE IF NOT EXISTS {db}.{MIGRATIONS_TABLE} (version UInt32, name String, "
        "applied_at DateTime64(3, 'UTC')) ENGINE = ReplacingMergeTree ORDER BY version"
    )
    done = applied_versions(client)
    applied: list[int] = []
    for migration in sorted(migrations, key=lambda m: m.version):
        if migration.version in done:
            continue
        for statement in migration.statements:
            client.command(statement.format(db=db))
        if migration.run is not None:
            migration.run(client)
        client.insert(MIGRATIONS_TABLE, [(migration.version, migration.name, datetime.now(UTC))],
                      ("version", "name", "applied_at"))
        applied.append(migration.version)
    return applied


def applied_versions(client: AnalyticsClient) -> set[int]:
    """The migration versions recorded in the store. Blocks."""
    _, rows = client.query(f"SELECT DISTINCT version FROM {client.database}.{MIGRATIONS_TABLE}")
    return {int(version) for (version,) in rows}
