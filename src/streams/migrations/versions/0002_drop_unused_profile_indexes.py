"""drop the profile indexes no query can use

``ix_profiles_display_name``: the only query on the name is a substring search (``ILIKE '%…%'``), which a
btree cannot serve; ``ix_profiles_last_seen``: last-seen only breaks ties after influence. Both were
rewritten on every profile upsert (last-seen changes with every event, so no update was HOT).

Revision ID: 7c1e2b9d4f30
Revises: 49a5565e09ad
Create Date: 2026-11-24 08:30:00
"""
from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "7c1e2b9d4f30"
down_revision: str | None = "49a5565e09ad"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("profiles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_profiles_display_name"))
        batch_op.drop_index(batch_op.f("ix_profiles_last_seen"))


def downgrade() -> None:
    with op.batch_alter_table("profiles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_profiles_last_seen"), ["last_seen"], unique=False)
        batch_op.create_index(batch_op.f("ix_profiles_display_name"), ["display_name"], unique=False)
