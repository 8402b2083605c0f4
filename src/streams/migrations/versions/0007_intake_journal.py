"""the embedded runtime's intake journal; the headers kept beside a dead-lettered webhook delivery

``intake_journal`` holds what a receiver accepted until the embedded pipeline has handled it, so nothing
answered 200 is lost when the process dies. ``deadletters.headers`` keeps the request headers that matter
(never secrets) beside a webhook delivery that could not be read.

Revision ID: 4b7e1c9a2d55
Revises: 9d2c4e6f8a10
Create Date: 2026-12-10 10:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "4b7e1c9a2d55"
down_revision: str | None = "9d2c4e6f8a10"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "intake_journal",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("topic", sa.String(length=256), nullable=False),
        sa.Column("key", sa.LargeBinary(), nullable=True),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("deadletters") as batch_op:
        batch_op.add_column(sa.Column("headers", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deadletters") as batch_op:
        batch_op.drop_column("headers")
    op.drop_table("intake_journal")
