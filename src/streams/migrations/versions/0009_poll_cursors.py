"""poll cursors: where each poll connector's endpoint stands (one row per connector and endpoint)

The pollers (``ingest.polling``) store a cursor after the events of each page are durable on the stream,
so a poller restarted at any moment resumes where it stood: nothing fetched twice, nothing skipped.

Revision ID: 6a3f9c1e7b52
Revises: 6e2a9f3c7b18
Create Date: 2026-12-03 12:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "6a3f9c1e7b52"
down_revision: str | None = "6e2a9f3c7b18"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "poll_cursors",
        sa.Column("connector", sa.String(length=128), nullable=False),
        sa.Column("endpoint", sa.String(length=128), nullable=False),
        sa.Column("cursor", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("connector", "endpoint"),
    )


def downgrade() -> None:
    op.drop_table("poll_cursors")
