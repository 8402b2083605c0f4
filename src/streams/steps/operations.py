"""Analytics step for operational records: incident versions, alerts, segment changes and poll connector
health to the rows of ``analytics.operations``. Pure."""

from __future__ import annotations

from datetime import UTC, datetime

from alerts.contracts import Alert, Incident
from analytics.operations import AlertRow, ConnectorHealthRow, IncidentVersionRow, MembershipRow
from ingest.polling.health import PollHealth
from profile_store.segments.membership import SegmentChange


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _maybe_utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


def incident_version_row(incident: Incident) -> IncidentVersionRow:
    """One version of an incident: what changed (``last_change``) at ``updated_at``."""
    return IncidentVersionRow(
        incident_id=incident.incident_id, version=incident.version, change=incident.last_change,
        changed_at=_utc(incident.updated_at), dedup_key=incident.dedup_key, rule=incident.rule,
        rules=list(incident.rules), kind=incident.kind, severity=incident.severity, title=incident.title,
        state=incident.state, brand=incident.brand or "", topic=incident.topic or "", language=incident.language,
        platforms=list(incident.platforms), customer_id=incident.customer_id or "", alerts=incident.count,
        first_seen=_utc(incident.first_seen), last_seen=_utc(incident.last_seen), opened_at=_utc(incident.opened_at),
        acknowledged_at=_maybe_utc(incident.acknowledged_at), acknowledged_by=incident.acknowledged_by,
        resolved_at=_maybe_utc(incident.resolved_at), resolved_by=incident.resolved_by,
        snoozed_until=_maybe_utc(incident.snoozed_until), assignee=incident.assignee, team=incident.team,
        escalation_level=incident.escalation_level, escalated_at=_maybe_utc(incident.escalated_at),
    )


def alert_row(alert: Alert, *, recorded_at: datetime) -> AlertRow:
    """One detector signal, recorded (wall clock) at ``recorded_at``."""
    return AlertRow(
        alert_id=alert.alert_id, incident_id=alert.incident_id or "", rule=alert.rule, kind=alert.kind,
        severity=alert.severity, title=alert.title, dedup_key=alert.dedup_key, customer_id=alert.customer_id or "",
        event_id=alert.event_id, event_key=alert.event_key or "", platform=alert.platform, brand=alert.brand or "",
        topic=alert.topic or "", language=alert.language, occurred_at=_utc(alert.occurred_at),
        recorded_at=_utc(recorded_at),
    )


def membership_row(change: SegmentChange) -> MembershipRow:
    """One entry (``delta = 1``) or exit (``-1``) of a customer in a segment."""
    return MembershipRow(segment=change.segment, change_id=change.change_id, customer_id=change.customer_id,
                         change=change.change, delta=1 if change.change == "enter" else -1, at=_utc(change.at),
                         cause=change.cause or "")


def poll_health_row(health: PollHealth, *, recorded_at: datetime) -> ConnectorHealthRow:
    """A snapshot of a poll connector's record as stored at ``recorded_at`` (its version: milliseconds)."""
    at = _utc(recorded_at)
    return ConnectorHealthRow(
        connector=health.connector, version=int(at.timestamp() * 1000), recorded_at=at, platform=health.platform,
        kind="poll", rounds=health.rounds, requests=health.requests, pages=health.pages, events=health.events,
        skipped=health.skipped, dead_letters=health.dead_letters, retries=health.retries, waits=health.waits,
        waited_seconds=health.waited_seconds, errors=health.errors, last_round_at=_maybe_utc(health.last_round_at),
        last_round_events=health.last_round_events, next_round_at=_maybe_utc(health.next_round_at),
        last_error=health.last_error, last_error_at=_maybe_utc(health.last_error_at),
        refused_until=_maybe_utc(health.refused_until),
    )
