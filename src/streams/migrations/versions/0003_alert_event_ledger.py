"""the detectors' own event ledger

Alerts are raised in a transaction of their own (the ``alert`` lane), no longer in the one that stores
events for profiles, so the detectors keep their own ledger of the events they have seen. Every event
stored before this revision had its alerts raised in the transaction that stored it: the ledger starts
with all of them, so an upgraded deployment's new alert lane, reading ``scrm.events.enriched`` from the
start, re-publishes their stored alerts and counts none of them again.

Revision ID: 3f8a6d21c5e7
Revises: 7c1e2b9d4f30
Create Date: 2026-11-24 10:00:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3f8a6d21c5e7"
down_revision: str | None = "7c1e2b9d4f30"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alert_event_ledger",
        sa.Column("event_key", sa.String(length=600), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_key"),
    )
    op.execute("INSERT INTO alert_event_ledger (event_key, seen_at) SELECT event_key, CURRENT_TIMESTAMP FROM profile_events")


def downgrade() -> None:
    op.drop_table("alert_event_ledger")
