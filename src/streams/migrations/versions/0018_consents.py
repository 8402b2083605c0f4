"""consents: each identity's newest consent statement per purpose

Consent arrives per identity (a CRM id, a WeChat openid, an API call on a customer) and is about a person,
so it is kept by identity key apart from the profiles (``profile_store.consents``). The consent the CRM
records already hold becomes the statements of their ``crm:<crm_id>`` identities, dated when the import
last changed the record, with source ``crm``; downgrading drops the table (the records keep their copy).

Revision ID: 7c3d9a1e5f20
Revises: 5e2a9c7d3b14
Create Date: 2026-12-04 22:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7c3d9a1e5f20"
down_revision: str | None = "5e2a9c7d3b14"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PURPOSES = ("contact", "marketing", "analytics")


def upgrade() -> None:
    consents = op.create_table(
        "consents",
        sa.Column("identity_key", sa.String(length=600), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=256), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("identity_key", "purpose"),
    )
    records = sa.table("crm_records", sa.column("crm_id", sa.String()), sa.column("data", sa.JSON()),
                       sa.column("updated_at", sa.DateTime(timezone=True)))
    bind = op.get_bind()
    rows = [
        {"identity_key": f"crm:{crm_id}", "purpose": purpose, "granted": granted, "source": "crm",
         "updated_at": updated_at}
        for crm_id, data, updated_at in bind.execute(sa.select(records.c.crm_id, records.c.data, records.c.updated_at))
        for purpose in _PURPOSES
        if isinstance(granted := ((data or {}).get("consent") or {}).get(purpose), bool)
    ]
    if rows:
        op.bulk_insert(consents, rows)


def downgrade() -> None:
    op.drop_table("consents")
