"""lane heartbeats: each Kafka worker's lane counters, for the API's /v1/status and /readyz

Revision ID: 3d5b8e2f6a41
Revises: 8c1d4e7a9b30
Create Date: 2026-12-02 23:30:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3d5b8e2f6a41"
down_revision: str | None = "8c1d4e7a9b30"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lane_heartbeats",
        sa.Column("worker", sa.String(length=256), nullable=False),
        sa.Column("lane", sa.String(length=64), nullable=False),
        sa.Column("beat", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("worker", "lane"),
    )


def downgrade() -> None:
    op.drop_table("lane_heartbeats")
