"""Alert repository: the only code that reads or writes alert tables. Keyword-only ``session``; never
commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from alerts.contracts import Alert
from alerts.tables import AlertRow


def record_alerts(alerts: Sequence[Alert], *, session: Session) -> None:
    """Insert alerts; an alert id already stored is left as it is (its state may have moved on).
    Idempotent."""
    if not alerts:
        return
    now = datetime.now(UTC)
    rows = [
        {
            "alert_id": a.alert_id,
            "rule": a.rule,
            "kind": a.kind,
            "severity": a.severity,
            "state": a.state,
            "brand": a.brand,
            "occurred_at": a.occurred_at,
            "recorded_at": now,
            "data": a.model_dump(mode="json"),
        }
        for a in alerts
    ]
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = module.insert(AlertRow).values(rows).on_conflict_do_nothing(index_elements=["alert_id"])
    session.execute(statement)


def list_alerts(
    *,
    session: Session,
    state: str | None = None,
    kind: str | None = None,
    min_severity: int | None = None,
    brand: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[Alert]:
    """Alerts matching every given filter, newest event first."""
    query = select(AlertRow).order_by(AlertRow.occurred_at.desc()).limit(limit)
    if state:
        query = query.where(AlertRow.state == state)
    if kind:
        query = query.where(AlertRow.kind == kind)
    if min_severity:
        query = query.where(AlertRow.severity >= min_severity)
    if brand:
        query = query.where(AlertRow.brand == brand)
    if since:
        query = query.where(AlertRow.occurred_at >= since)
    return [Alert.model_validate(row.data) for row in session.scalars(query)]


def get_alert(alert_id: str, *, session: Session) -> Alert | None:
    """One alert by id, or ``None``."""
    row = session.get(AlertRow, alert_id)
    return Alert.model_validate(row.data) if row else None


def alerts_recorded_after(cursor: datetime, *, session: Session, limit: int = 100) -> list[tuple[datetime, Alert]]:
    """Alerts stored after ``cursor`` (wall-clock time of recording), oldest first, with their recording
    time: the feed behind the live alert stream."""
    query = select(AlertRow).where(AlertRow.recorded_at > cursor).order_by(AlertRow.recorded_at).limit(limit)
    return [(row.recorded_at, Alert.model_validate(row.data)) for row in session.scalars(query)]
