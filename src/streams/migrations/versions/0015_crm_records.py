"""crm records: the CRM's last imported row per crm_id, overlaid on profiles

Revision ID: 2c6f8e4a1d93
Revises: 9d4f1b6e2a73
Create Date: 2026-12-03 08:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "2c6f8e4a1d93"
down_revision: str | None = "9d4f1b6e2a73"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "crm_records",
        sa.Column("crm_id", sa.String(length=256), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("crm_id"),
    )


def downgrade() -> None:
    op.drop_table("crm_records")
