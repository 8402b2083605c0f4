"""segment feeds: how far each webhook feed of segment changes has delivered

Revision ID: 9d4f1b6e2a73
Revises: 7b3e9a1c5d62
Create Date: 2026-12-03 08:20:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9d4f1b6e2a73"
down_revision: str | None = "7b3e9a1c5d62"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alert_segment_feeds",
        sa.Column("feed", sa.String(length=128), nullable=False),
        sa.Column("delivered_through", sa.Integer(), nullable=False),
        sa.Column("delivered", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("feed"),
    )


def downgrade() -> None:
    op.drop_table("alert_segment_feeds")
