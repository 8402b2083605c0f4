"""Rows and writers of the operational tables (``analytics.schema.operations``): incident versions, alerts,
segment membership changes and connector health snapshots.

These rows are analytics' own shapes: the alerts store, the segment store and the pollers own the nouns,
and ``streams`` (which may import them all) flattens them into these rows. Every writer inserts only the
keys not stored yet (``write_new_rows``), so writing rows again, or a batch overlapping stored ones, changes
nothing. All calls block and raise the driver's errors (then the rows may be written again).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from analytics.client import AnalyticsClient
from analytics.schema.tables import (
    ALERT_COLUMNS,
    ALERTS_TABLE,
    CONNECTOR_HEALTH_COLUMNS,
    CONNECTOR_HEALTH_TABLE,
    INCIDENT_CHANGES_TABLE,
    INCIDENT_COLUMNS,
    SEGMENT_CHANGE_COLUMNS,
    SEGMENT_CHANGES_TABLE,
)
from analytics.writer import values, write_new_rows


@dataclass(frozen=True, slots=True)
class IncidentVersionRow:
    """One version of an incident (``incident_changes`` / ``incidents`` columns, same order): ``change`` is
    what made it (opened, acknowledged, resolved, ...), ``changed_at`` when (wall clock)."""

    incident_id: str
    version: int
    change: str
    changed_at: datetime
    dedup_key: str
    rule: str
    rules: list[str]
    kind: str
    severity: int
    title: str
    state: str
    brand: str
    topic: str
    language: str
    platforms: list[str]
    customer_id: str
    alerts: int
    first_seen: datetime
    last_seen: datetime
    opened_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    snoozed_until: datetime | None
    assignee: str | None
    team: str | None
    escalation_level: int
    escalated_at: datetime | None


@dataclass(frozen=True, slots=True)
class AlertRow:
    """One detector signal (``alerts`` columns, same order); ``''`` where the alert has no value."""

    alert_id: str
    incident_id: str
    rule: str
    kind: str
    severity: int
    title: str
    dedup_key: str
    customer_id: str
    event_id: str
    event_key: str
    platform: str
    brand: str
    topic: str
    language: str
    occurred_at: datetime
    recorded_at: datetime


@dataclass(frozen=True, slots=True)
class MembershipRow:
    """A customer entered (``delta = 1``) or left (``-1``) a segment (``segment_changes`` columns, same order),
    at event time ``at``, because of the event ``cause`` (``''``: an evaluation)."""

    segment: str
    change_id: int
    customer_id: str
    change: str
    delta: int
    at: datetime
    cause: str


@dataclass(frozen=True, slots=True)
class ConnectorHealthRow:
    """A snapshot of a connector's cumulative counters (``connector_health`` columns, same order), taken
    when its record was stored (``recorded_at``; ``version``: the same in milliseconds)."""

    connector: str
    version: int
    recorded_at: datetime
    platform: str
    kind: str
    rounds: int
    requests: int
    pages: int
    events: int
    skipped: int
    dead_letters: int
    retries: int
    waits: int
    waited_seconds: float
    errors: int
    last_round_at: datetime | None
    last_round_events: int
    next_round_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    refused_until: datetime | None


def write_incident_versions(client: AnalyticsClient, rows: Sequence[IncidentVersionRow]) -> int:
    """Insert the incident versions not stored yet (by incident id and version); they reach ``incidents``
    through its materialised view. Returns how many were inserted. Idempotent."""
    return write_new_rows(client, INCIDENT_CHANGES_TABLE, INCIDENT_COLUMNS, [values(r) for r in rows],
                          key=("incident_id", "version"))


def write_alerts(client: AnalyticsClient, rows: Sequence[AlertRow]) -> int:
    """Insert the alerts not stored yet (by alert id); returns how many. Idempotent."""
    return write_new_rows(client, ALERTS_TABLE, ALERT_COLUMNS, [values(r) for r in rows], key=("alert_id",))


def write_memberships(client: AnalyticsClient, rows: Sequence[MembershipRow]) -> int:
    """Insert the segment changes not stored yet (by segment and change id); returns how many. Idempotent."""
    return write_new_rows(client, SEGMENT_CHANGES_TABLE, SEGMENT_CHANGE_COLUMNS, [values(r) for r in rows],
                          key=("segment", "change_id"))


def write_connector_health(client: AnalyticsClient, rows: Sequence[ConnectorHealthRow]) -> int:
    """Insert the health snapshots not stored yet (by connector and version); returns how many. Idempotent."""
    return write_new_rows(client, CONNECTOR_HEALTH_TABLE, CONNECTOR_HEALTH_COLUMNS, [values(r) for r in rows],
                          key=("connector", "version"))


def newest(client: AnalyticsClient, table: str, column: str) -> Any | None:
    """The largest ``column`` stored in ``table`` (a sync's watermark), ``None`` when the table is empty;
    a time comes back timezone-aware (UTC)."""
    _, rows = client.query(f"SELECT max({column}), count() FROM {client.database}.{table}")
    value, count = rows[0]
    if not count:
        return None
    return value.replace(tzinfo=UTC) if isinstance(value, datetime) and value.tzinfo is None else value
