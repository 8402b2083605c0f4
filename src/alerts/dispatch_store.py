"""Delivery tables: the outbox, one row per incident version and channel, and the dead letters.

Keyword-only ``session``; never commits. Claims use a lease (``next_attempt_at`` moved forward) so several
dispatchers may run: a claimed delivery is invisible to the others until its lease ends, and a dispatcher
killed mid-send leaves it to be retried after the lease (receivers dedupe by the idempotency key).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, tuple_, update
from sqlalchemy.orm import Session

from alerts.contracts import Incident
from alerts.tables import DeliveryDeadLetterRow, DeliveryRow, OutboxRow
from sqlkit import upsert_rows


@dataclass(frozen=True)
class OutboxEntry:
    """An incident version waiting to be routed."""

    incident: Incident
    change: str


@dataclass(frozen=True)
class ClaimedDelivery:
    """A delivery this dispatcher holds the lease on."""

    incident: Incident
    change: str
    route: str
    team: str
    channel: str
    attempts: int


def pending_outbox(*, session: Session, limit: int = 500) -> list[OutboxEntry]:
    """Incident versions not routed yet, oldest first (locked, skipping rows another dispatcher holds)."""
    query = (select(OutboxRow).where(OutboxRow.status == "pending").order_by(OutboxRow.created_at)
             .limit(limit).with_for_update(skip_locked=True))
    return [OutboxEntry(Incident.model_validate(row.data), row.change) for row in session.scalars(query)]


def route_entries(
    routed: Sequence[tuple[OutboxEntry, Sequence[tuple[str, str, str, str]]]], *, now: datetime, session: Session
) -> None:
    """For each outbox entry, create one delivery per ``(route, team, channel, status)`` target (``status``
    ``pending`` or ``skipped``) and mark the entry routed: two statements for the whole pass. Idempotent by
    incident, version and channel."""
    if not routed:
        return
    rows = [
        {"incident_id": entry.incident.incident_id, "version": entry.incident.version, "channel": channel,
         "route": route, "status": status, "attempts": 0, "next_attempt_at": now, "created_at": now,
         "delivered_at": None, "last_error": None,
         "data": {"incident": entry.incident.model_dump(mode="json"), "change": entry.change, "team": team}}
        for entry, targets in routed
        for route, team, channel, status in targets
    ]
    upsert_rows(session, DeliveryRow.__table__, rows, ["incident_id", "version", "channel"], update=False)  # type: ignore[arg-type]
    keys = [(entry.incident.incident_id, entry.incident.version) for entry, _ in routed]
    session.execute(update(OutboxRow).where(tuple_(OutboxRow.incident_id, OutboxRow.version).in_(keys))
                    .values(status="routed"))


def claim_due(*, now: datetime, lease: timedelta, session: Session, limit: int = 100) -> list[ClaimedDelivery]:
    """Deliveries due by ``now``; their next attempt moves to ``now + lease`` so no one else takes them."""
    query = (select(DeliveryRow).where(DeliveryRow.status == "pending", DeliveryRow.next_attempt_at <= now)
             .order_by(DeliveryRow.next_attempt_at).limit(limit).with_for_update(skip_locked=True))
    claimed = []
    for row in session.scalars(query):
        row.next_attempt_at = now + lease
        claimed.append(ClaimedDelivery(Incident.model_validate(row.data["incident"]), str(row.data["change"]),
                                       row.route, str(row.data["team"]), row.channel, row.attempts))
    return claimed


_DELIVERY_KEY = tuple_(DeliveryRow.incident_id, DeliveryRow.version, DeliveryRow.channel)


def _key(delivery: ClaimedDelivery) -> tuple[str, int, str]:
    return delivery.incident.incident_id, delivery.incident.version, delivery.channel


def mark_delivered(deliveries: Sequence[ClaimedDelivery], *, now: datetime, session: Session) -> None:
    """The channels accepted them (one statement; each holds this dispatcher's lease)."""
    if deliveries:
        session.execute(update(DeliveryRow).where(_DELIVERY_KEY.in_([_key(d) for d in deliveries])).values(
            status="delivered", delivered_at=now, attempts=DeliveryRow.attempts + 1, last_error=None))


def mark_failed(delivery: ClaimedDelivery, *, error: str, retry_at: datetime, session: Session) -> None:
    """An attempt failed; try again at ``retry_at``."""
    session.execute(update(DeliveryRow).where(_DELIVERY_KEY.in_([_key(delivery)])).values(
        attempts=delivery.attempts + 1, last_error=error[:2000], next_attempt_at=retry_at))


def dead_letter(delivery: ClaimedDelivery, *, error: str, now: datetime, session: Session) -> None:
    """The last attempt failed: the delivery becomes ``dead`` and a dead letter keeps the whole message."""
    session.execute(update(DeliveryRow).where(_DELIVERY_KEY.in_([_key(delivery)])).values(
        status="dead", attempts=delivery.attempts + 1, last_error=error[:2000]))
    upsert_rows(session, DeliveryDeadLetterRow.__table__, [{  # type: ignore[arg-type]
        "incident_id": delivery.incident.incident_id, "version": delivery.incident.version,
        "channel": delivery.channel, "route": delivery.route, "failed_at": now, "attempts": delivery.attempts + 1,
        "error": error[:2000], "data": {"incident": delivery.incident.model_dump(mode="json"),
                                        "change": delivery.change, "team": delivery.team},
    }], ["incident_id", "version", "channel"])


def deliveries_of(incident_id: str, *, session: Session) -> list[dict[str, object]]:
    """Every delivery of an incident (all versions): channel, route, status, attempts, error."""
    query = select(DeliveryRow).where(DeliveryRow.incident_id == incident_id).order_by(
        DeliveryRow.version, DeliveryRow.channel)
    return [{"version": r.version, "channel": r.channel, "route": r.route, "status": r.status,
             "attempts": r.attempts, "last_error": r.last_error, "change": r.data.get("change"),
             "delivered_at": r.delivered_at} for r in session.scalars(query)]


def delivery_dead_letters(*, session: Session, limit: int = 100) -> list[dict[str, object]]:
    """Dead-lettered deliveries, newest first."""
    query = select(DeliveryDeadLetterRow).order_by(DeliveryDeadLetterRow.failed_at.desc()).limit(limit)
    return [{"incident_id": r.incident_id, "version": r.version, "channel": r.channel, "route": r.route,
             "attempts": r.attempts, "error": r.error, "failed_at": r.failed_at} for r in session.scalars(query)]
