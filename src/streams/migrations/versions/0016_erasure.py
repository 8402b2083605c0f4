"""erasure: the suppression list of erased identities (keyed hashes) and the erasure audit

Revision ID: 5b8e2f1c7a40
Revises: 2c6f8e4a1d93
Create Date: 2026-12-04 21:30:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b8e2f1c7a40"
down_revision: str | None = "2c6f8e4a1d93"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "erased_identities",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("erasure_id", sa.String(length=64), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("digest"),
    )
    op.create_index(op.f("ix_erased_identities_erasure_id"), "erased_identities", ["erasure_id"], unique=False)
    op.create_table(
        "erasure_audit",
        sa.Column("erasure_id", sa.String(length=64), nullable=False),
        sa.Column("subject_digest", sa.String(length=64), nullable=False),
        sa.Column("requested_by", sa.String(length=256), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("erasure_id"),
    )
    op.create_index(op.f("ix_erasure_audit_subject_digest"), "erasure_audit", ["subject_digest"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_erasure_audit_subject_digest"), table_name="erasure_audit")
    op.drop_table("erasure_audit")
    op.drop_index(op.f("ix_erased_identities_erasure_id"), table_name="erased_identities")
    op.drop_table("erased_identities")
