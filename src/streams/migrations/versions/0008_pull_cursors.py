"""the pull cursors of push connectors (微信客服 sync_msg per connector and open_kfid)

Revision ID: 6e2a9f3c7b18
Revises: 4b7e1c9a2d55
Create Date: 2026-12-10 11:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "6e2a9f3c7b18"
down_revision: str | None = "4b7e1c9a2d55"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pull_cursors",
        sa.Column("connector", sa.String(length=128), nullable=False),
        sa.Column("stream", sa.String(length=256), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("connector", "stream"),
    )


def downgrade() -> None:
    op.drop_table("pull_cursors")
