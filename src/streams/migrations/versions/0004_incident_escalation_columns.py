"""incidents' escalation level and clock as columns

The escalation scan read the 1,000 oldest open incidents and filtered them in Python: with more open
incidents that cannot escalate (top level, snoozed, a severity without SLA) newer overdue ones were never
escalated. The level and the time the SLA runs from (``alerts.incidents.escalation_clock``) are now columns,
so the scan selects exactly the overdue incidents. Existing rows get them from their stored document.

Revision ID: 9b4e0c7a2d18
Revises: 3f8a6d21c5e7
Create Date: 2026-11-24 11:00:00
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "9b4e0c7a2d18"
down_revision: str | None = "3f8a6d21c5e7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INCIDENTS = sa.table(
    "alert_incidents",
    sa.column("incident_id", sa.String),
    sa.column("escalation_level", sa.Integer),
    sa.column("escalation_since", sa.DateTime(timezone=True)),
    sa.column("data", sa.JSON),
)


def upgrade() -> None:
    with op.batch_alter_table("alert_incidents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("escalation_level", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("escalation_since", sa.DateTime(timezone=True), nullable=True))
    connection = op.get_bind()
    for incident_id, data in connection.execute(sa.select(_INCIDENTS.c.incident_id, _INCIDENTS.c.data)).all():
        level, since = _escalation(data)
        connection.execute(sa.update(_INCIDENTS).where(_INCIDENTS.c.incident_id == incident_id)
                           .values(escalation_level=level, escalation_since=since))
    with op.batch_alter_table("alert_incidents", schema=None) as batch_op:
        batch_op.alter_column("escalation_level", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("escalation_since", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.create_index(batch_op.f("ix_alert_incidents_escalation_since"), ["escalation_since"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("alert_incidents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_incidents_escalation_since"))
        batch_op.drop_column("escalation_since")
        batch_op.drop_column("escalation_level")


def _escalation(data: dict[str, Any]) -> tuple[int, datetime]:
    """Level and escalation clock of a stored incident document (schema version 1)."""
    times = [datetime.fromisoformat(data[name]) for name in ("opened_at", "escalated_at", "snoozed_until")
             if data.get(name)]
    return int(data.get("escalation_level") or 0), max(times)
