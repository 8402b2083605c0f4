"""retention: when each profile event and interaction edge was stored, and the retention job's marks

Retention counts from when a row was stored (wall clock), not from the event's time, so ``profile_events``
and ``interaction_edges`` get ``stored_at`` (indexed). Rows stored before this migration get the time it
runs: they are kept as if stored then. ``retention_marks`` says how far the job has blanked text per store.

Revision ID: 5e2a9c7d3b14
Revises: 5b8e2f1c7a40
Create Date: 2026-12-04 21:00:00
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "5e2a9c7d3b14"
down_revision: str | None = "5b8e2f1c7a40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("profile_events", "interaction_edges")


def upgrade() -> None:
    migrated_at = datetime.now(UTC)
    for name in _TABLES:
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.add_column(sa.Column("stored_at", sa.DateTime(timezone=True), nullable=True))
        table = sa.table(name, sa.column("stored_at", sa.DateTime(timezone=True)))
        op.get_bind().execute(sa.update(table).values(stored_at=migrated_at))
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.alter_column("stored_at", existing_type=sa.DateTime(timezone=True), nullable=False)
            batch_op.create_index(batch_op.f(f"ix_{name}_stored_at"), ["stored_at"], unique=False)
    op.create_table(
        "retention_marks",
        sa.Column("store", sa.String(length=64), nullable=False),
        sa.Column("done_before", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("store"),
    )


def downgrade() -> None:
    op.drop_table("retention_marks")
    for name in _TABLES:
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{name}_stored_at"))
            batch_op.drop_column("stored_at")
