"""dead letters in one place (idempotent keys, replays, guard trips and waivers); the alert lane's author folds

The dead-letter lane writes ``scrm.deadletter`` into this table on every runtime, so a dead letter needs an
identity (``letter_key``: a re-delivered dead letter is stored once) and a mark when it was submitted again
(``replayed_at``). Rows stored before this revision keep a NULL key (NULLs do not collide in a unique
index). ``deadletter_guard_trips`` remembers each stop of a lane by the dead-letter guard and who waived it.

``author_folds`` is the alert lane's own fold of each author's standing; it starts from the stored profiles,
so an upgraded deployment judges known authors by their history at once.

Revision ID: 9d2c4e6f8a10
Revises: 5d2c8a7f1b63
Create Date: 2026-12-02 12:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9d2c4e6f8a10"
down_revision: str | None = "5d2c8a7f1b63"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deadletters") as batch_op:
        batch_op.add_column(sa.Column("letter_key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("replayed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint("uq_deadletters_letter_key", ["letter_key"])
    op.create_table(
        "deadletter_guard_trips",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("lane", sa.String(length=64), nullable=False),
        sa.Column("topic", sa.String(length=256), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=True),
        sa.Column("offset", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("tripped_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("waived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("waived_by", sa.String(length=256), nullable=True),
        sa.Column("waive_reason", sa.Text(), nullable=True),
        sa.Column("waived_through", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("deadletter_guard_trips") as batch_op:
        batch_op.create_index(batch_op.f("ix_deadletter_guard_trips_lane"), ["lane"], unique=False)
    op.create_table(
        "author_folds",
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id"),
    )
    op.execute("INSERT INTO author_folds (customer_id, data) SELECT customer_id, data FROM profiles")


def downgrade() -> None:
    op.drop_table("author_folds")
    with op.batch_alter_table("deadletter_guard_trips") as batch_op:
        batch_op.drop_index(batch_op.f("ix_deadletter_guard_trips_lane"))
    op.drop_table("deadletter_guard_trips")
    with op.batch_alter_table("deadletters") as batch_op:
        batch_op.drop_constraint("uq_deadletters_letter_key", type_="unique")
        batch_op.drop_column("replayed_at")
        batch_op.drop_column("letter_key")
