"""poll health, and one cursor table: the 微信客服 pull cursors move into poll_cursors

``poll_health`` keeps each poll connector's record (rounds, requests, events, waits, the last error) so
every process can show it in ``GET /v1/connectors``, whichever process polls. The pull cursors of push
connectors (``pull_cursors``: connector, stream = open_kfid, the ``sync_msg`` cursor as text) become rows
of ``poll_cursors`` (endpoint ``sync_msg:<open_kfid>``, cursor ``{"watermark": <cursor>}``), so every
cursor of a connector lives in one table; downgrade moves them back.

Revision ID: 8c1d4e7a9b30
Revises: 6a3f9c1e7b52
Create Date: 2026-12-02 23:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8c1d4e7a9b30"
down_revision: str | None = "6a3f9c1e7b52"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PREFIX = "sync_msg:"


def _pull_cursors() -> sa.TableClause:
    return sa.table("pull_cursors", sa.column("connector", sa.String), sa.column("stream", sa.String),
                    sa.column("cursor", sa.Text), sa.column("updated_at", sa.DateTime(timezone=True)))


def _poll_cursors() -> sa.TableClause:
    return sa.table("poll_cursors", sa.column("connector", sa.String), sa.column("endpoint", sa.String),
                    sa.column("cursor", sa.JSON), sa.column("updated_at", sa.DateTime(timezone=True)))


def upgrade() -> None:
    op.create_table(
        "poll_health",
        sa.Column("connector", sa.String(length=128), nullable=False),
        sa.Column("health", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("connector"),
    )
    connection = op.get_bind()
    old, new = _pull_cursors(), _poll_cursors()
    rows = connection.execute(sa.select(old.c.connector, old.c.stream, old.c.cursor, old.c.updated_at)).all()
    if rows:
        op.bulk_insert(new, [{"connector": connector, "endpoint": f"{PREFIX}{stream}", "cursor": {"watermark": cursor},
                              "updated_at": at} for connector, stream, cursor, at in rows])
    op.drop_table("pull_cursors")


def downgrade() -> None:
    op.create_table(
        "pull_cursors",
        sa.Column("connector", sa.String(length=128), nullable=False),
        sa.Column("stream", sa.String(length=256), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("connector", "stream"),
    )
    connection = op.get_bind()
    new = _poll_cursors()
    rows = connection.execute(sa.select(new.c.connector, new.c.endpoint, new.c.cursor, new.c.updated_at)
                              .where(new.c.endpoint.like(f"{PREFIX}%"))).all()
    if rows:
        op.bulk_insert(_pull_cursors(), [
            {"connector": connector, "stream": endpoint[len(PREFIX):], "cursor": (cursor or {}).get("watermark") or "",
             "updated_at": at} for connector, endpoint, cursor, at in rows])
        connection.execute(sa.delete(new).where(new.c.endpoint.like(f"{PREFIX}%")))
    op.drop_table("poll_health")
