"""Alert repository: the only code that reads or writes incidents, signals and detector state (delivery
tables: ``alerts.dispatch_store``). Every function takes a keyword-only ``session`` and never commits; the
caller owns the transaction, so "detect, update incidents, save state, enqueue deliveries" is atomic."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.orm import Session

from alerts.contracts import Alert, Incident, IncidentChange, SignalPost
from alerts.exceptions import AlertNotFound
from alerts.incidents import escalation_clock
from alerts.outbox_signal import notify_outbox
from alerts.state import (
    CapCounter,
    CoordinatedWindow,
    DetectorState,
    PartitionMark,
    PendingPost,
    PendingQuestion,
    ScopeSeries,
    TrackedPost,
)
from alerts.tables import DetectorStateRow, EventLedgerRow, IncidentRow, OutboxRow, SignalRow
from sqlkit import any_of, as_aware, insert_new, lock_keys, upsert_rows
from sqlkit.keyset import InvalidCursor as InvalidCursor  # raised by incident_posts
from sqlkit.keyset import decode_cursor, encode_cursor

_KINDS: dict[str, tuple[str, Any]] = {
    "scope": ("scopes", ScopeSeries),
    "track": ("tracked", TrackedPost),
    "question": ("questions", PendingQuestion),
    "coord": ("coordinated", CoordinatedWindow),
    "cap": ("caps", CapCounter),
    "mark": ("marks", PartitionMark),
    "pending": ("pending", PendingPost),
}


ALERT_LOCKS = 51_337
"""Advisory-lock namespace of the alerts package (detector state scopes, then incidents). ``final``
locks (``sqlkit.lock_keys``): a transaction takes them after its customer locks and takes none after."""


# ----------------------------------------------------------------------------------- detector state


def load_marks(*, session: Session) -> DetectorState:
    """Take the detectors' watermark lock and load every stream position's mark (``DetectorState.marks``).
    The lock serialises the alert transactions of every worker (they share one watermark), so posts are
    settled and taken in one order. Blocks on PostgreSQL while another alert transaction runs."""
    lock_keys(["watermark"], namespace=ALERT_LOCKS, session=session, final=True)
    rows = session.scalars(select(DetectorStateRow).where(DetectorStateRow.key.startswith("mark:")))
    return DetectorState(marks={row.key.partition(":")[2]: PartitionMark.model_validate(row.data) for row in rows})


def load_detector_state(keys: Iterable[str], *, session: Session, due_by: datetime | None = None) -> DetectorState:
    """Lock and load the entries ``keys`` plus every entry due by ``due_by`` (event time: pending
    questions and held posts). Blocks on PostgreSQL while another transaction holds one of the keys."""
    wanted = set(keys)
    if due_by is not None:
        wanted |= set(session.scalars(
            select(DetectorStateRow.key).where(DetectorStateRow.due_at.is_not(None), DetectorStateRow.due_at <= due_by)
        ))
    lock_keys(wanted, namespace=ALERT_LOCKS, session=session, final=True)
    if not wanted:
        return DetectorState()
    parts: dict[str, dict[str, Any]] = {field: {} for field, _ in _KINDS.values()}
    for row in session.scalars(select(DetectorStateRow).where(any_of(DetectorStateRow.key, wanted, session=session))):
        kind, _, name = row.key.partition(":")
        field, model = _KINDS[kind]
        parts[field][name] = model.model_validate(row.data)
    if due_by is not None:  # a question due now may have been answered by the transaction we waited for
        parts["questions"] = {k: q for k, q in parts["questions"].items() if f"question:{k}" in wanted}
    return DetectorState(**parts)


def save_detector_state(loaded: Iterable[str], state: DetectorState, *, session: Session) -> None:
    """Write every entry of ``state`` and delete the keys of ``loaded`` it no longer holds. Idempotent."""
    rows = []
    for kind, (field, _) in _KINDS.items():
        entries: dict[str, Any] = getattr(state, field)
        for name, entry in entries.items():
            rows.append({
                "key": f"{kind}:{name}",
                "due_at": getattr(entry, "due_at", None),
                "expires_at": getattr(entry, "expires_at", None),
                "data": entry.model_dump(mode="json"),
            })
    upsert_rows(session, DetectorStateRow.__table__, rows, ["key"])  # type: ignore[arg-type]
    gone = set(loaded) - state.keys()
    if gone:
        session.execute(delete(DetectorStateRow).where(any_of(DetectorStateRow.key, gone, session=session)))


def purge_expired_state(before: datetime, *, session: Session) -> None:
    """Forget tracked posts whose tracking ended before ``before`` (event time)."""
    session.execute(delete(DetectorStateRow).where(DetectorStateRow.expires_at < before))


# ------------------------------------------------------------------------------------------ signals


def claim_events(event_keys: Iterable[str], *, session: Session) -> set[str]:
    """Enter these events (``SocialEvent.event_key``) in the detectors' ledger; returns the ones never
    entered before: only they may move detector state. Blocks while another transaction holds a claim on
    one of them (then that one is not returned if it commits)."""
    now = datetime.now(UTC)
    rows = [{"event_key": key, "seen_at": now} for key in event_keys]
    return insert_new(session, EventLedgerRow.__table__, rows, "event_key")  # type: ignore[arg-type]


def record_signals(alerts: Sequence[Alert], *, session: Session) -> None:
    """Store alerts by id with the key of the event they are about (``Alert.event_key``: ``NULL`` when
    unknown, see there); an id already stored is kept. Idempotent."""
    now = datetime.now(UTC)
    rows = [
        {"alert_id": a.alert_id, "event_key": a.event_key, "incident_id": a.incident_id, "rule": a.rule,
         "occurred_at": a.occurred_at, "recorded_at": now, "data": a.model_dump(mode="json")}
        for a in alerts
    ]
    upsert_rows(session, SignalRow.__table__, rows, ["alert_id"], update=False)  # type: ignore[arg-type]


def signals_of_events(event_keys: Iterable[str], *, session: Session) -> list[Alert]:
    """The alerts raised by these events (to re-publish them when the events are replayed)."""
    keys = list(set(event_keys))
    if not keys:
        return []
    query = (select(SignalRow.data).where(any_of(SignalRow.event_key, keys, session=session))
             .order_by(SignalRow.occurred_at))
    return [Alert.model_validate(data) for data in session.scalars(query)]


# ---------------------------------------------------------------------------------------- incidents


def open_incidents(dedup_keys: Iterable[str], *, session: Session) -> dict[str, Incident]:
    """Lock and load the open (not resolved) incidents of these dedup keys, by dedup key. Blocks."""
    keys = set(dedup_keys)
    lock_keys((f"incident:{k}" for k in keys), namespace=ALERT_LOCKS, session=session, final=True)
    if not keys:
        return {}
    rows = session.scalars(select(IncidentRow).where(any_of(IncidentRow.open_key, keys, session=session)))
    return {row.dedup_key: Incident.model_validate(row.data) for row in rows}


def incident_generations(dedup_keys: Iterable[str], *, session: Session) -> dict[str, int]:
    """How many incidents each dedup key has opened so far (resolved ones included): the generation the
    next incident of that key gets (``alerts.incidents.incident_id``). Call after ``open_incidents``
    (whose locks keep the count from moving)."""
    keys = set(dedup_keys)
    if not keys:
        return {}
    rows = session.execute(select(IncidentRow.dedup_key, func.count()).where(
        any_of(IncidentRow.dedup_key, keys, session=session)).group_by(IncidentRow.dedup_key))
    return {key: count for key, count in rows}


def save_incidents(changes: Sequence[tuple[Incident, IncidentChange]], *, session: Session) -> None:
    """Upsert incidents and enqueue each new version in the delivery outbox (same transaction); listening
    dispatchers are woken when it commits."""
    if not changes:
        return
    rows = [_incident_row(incident) for incident, _ in changes]
    upsert_rows(session, IncidentRow.__table__, rows, ["incident_id"])  # type: ignore[arg-type]
    outbox = [
        {"incident_id": i.incident_id, "version": i.version, "change": change, "status": "pending",
         "created_at": datetime.now(UTC), "data": i.model_dump(mode="json")}
        for i, change in changes
    ]
    upsert_rows(session, OutboxRow.__table__, outbox, ["incident_id", "version"], update=False)  # type: ignore[arg-type]
    notify_outbox(session)


def _incident_row(incident: Incident) -> dict[str, Any]:
    return {
        "incident_id": incident.incident_id, "dedup_key": incident.dedup_key,
        "open_key": incident.dedup_key if incident.state != "resolved" else None,
        "rule": incident.rule, "kind": incident.kind, "severity": incident.severity, "state": incident.state,
        "brand": incident.brand, "assignee": incident.assignee, "team": incident.team,
        "first_seen": incident.first_seen, "last_seen": incident.last_seen, "opened_at": incident.opened_at,
        "escalation_level": incident.escalation_level, "escalation_since": escalation_clock(incident),
        "updated_at": incident.updated_at, "version": incident.version, "data": incident.model_dump(mode="json"),
    }


def list_incidents(
    *,
    session: Session,
    state: str | None = None,
    kind: str | None = None,
    min_severity: int | None = None,
    brand: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[Incident]:
    """Incidents matching every given filter (``since``: last seen at or after, event time), most
    recently seen first."""
    query = select(IncidentRow.data).order_by(IncidentRow.last_seen.desc(), IncidentRow.incident_id).limit(limit)
    if state:
        query = query.where(IncidentRow.state == state)
    if kind:
        query = query.where(IncidentRow.kind == kind)
    if min_severity:
        query = query.where(IncidentRow.severity >= min_severity)
    if brand:
        query = query.where(IncidentRow.brand == brand)
    if since:
        query = query.where(IncidentRow.last_seen >= since)
    return [Incident.model_validate(data) for data in session.scalars(query)]


def get_incident(incident_id: str, *, session: Session) -> Incident | None:
    """One incident by id, or ``None``."""
    data = session.scalar(select(IncidentRow.data).where(IncidentRow.incident_id == incident_id))
    return Incident.model_validate(data) if data is not None else None


def change_incident(
    incident_id: str, change: Callable[[Incident], Incident], *, session: Session
) -> Incident:
    """Lock the incident, apply ``change`` (a lifecycle function) and save it with an outbox entry.
    Raises ``AlertNotFound`` or whatever ``change`` raises (``InvalidTransition``)."""
    dedup_key = session.scalar(select(IncidentRow.dedup_key).where(IncidentRow.incident_id == incident_id))
    if dedup_key is None:
        raise AlertNotFound(incident_id)
    lock_keys([f"incident:{dedup_key}"], namespace=ALERT_LOCKS, session=session, final=True)  # the stream's lock order: advisory, then row
    data = session.scalar(select(IncidentRow.data).where(IncidentRow.incident_id == incident_id).with_for_update())
    updated = change(Incident.model_validate(data))
    save_incidents([(updated, updated.last_change)], session=session)  # type: ignore[list-item]
    return updated


def incidents_updated_after(cursor: datetime, *, session: Session, limit: int = 100) -> list[Incident]:
    """Incidents changed after ``cursor`` (wall clock), oldest change first: the live stream's feed."""
    query = select(IncidentRow.data).where(IncidentRow.updated_at > cursor).order_by(IncidentRow.updated_at).limit(limit)
    return [Incident.model_validate(data) for data in session.scalars(query)]


def incident_versions_since(since: datetime | None, *, session: Session, offset: int = 0,
                            limit: int = 1000) -> list[Incident]:
    """Every incident version enqueued (in the outbox, which keeps one row per version) at or after ``since``
    (wall clock; ``None``: from the first), oldest first, a page of ``limit`` from ``offset``: the analytics
    sync's feed. Each version carries its change (``last_change``) and time (``updated_at``)."""
    query = select(OutboxRow.data).order_by(OutboxRow.created_at, OutboxRow.incident_id, OutboxRow.version)
    if since is not None:
        query = query.where(OutboxRow.created_at >= since)
    return [Incident.model_validate(data) for data in session.scalars(query.offset(offset).limit(limit))]


def signals_recorded_since(since: datetime | None, *, session: Session, offset: int = 0,
                           limit: int = 1000) -> list[tuple[Alert, datetime]]:
    """Alerts recorded at or after ``since`` (wall clock; ``None``: from the first) with when each was
    recorded, oldest first, a page of ``limit`` from ``offset``: the analytics sync's feed."""
    query = select(SignalRow.data, SignalRow.recorded_at).order_by(SignalRow.recorded_at, SignalRow.alert_id)
    if since is not None:
        query = query.where(SignalRow.recorded_at >= since)
    rows = session.execute(query.offset(offset).limit(limit)).all()
    return [(Alert.model_validate(data), as_aware(recorded_at)) for data, recorded_at in rows]


def incidents_due_for_escalation(
    now: datetime, sla_minutes: Mapping[int, int], max_level: int, *, session: Session, limit: int = 1000
) -> list[Incident]:
    """Open incidents below ``max_level`` whose severity's SLA (minutes) has run out by ``now`` since their
    escalation clock; the longest overdue first, at most ``limit`` (escalating them restarts their
    clocks, so the next scan reaches the rest)."""
    overdue = [
        and_(IncidentRow.severity == severity, IncidentRow.escalation_since <= now - timedelta(minutes=minutes))
        for severity, minutes in sla_minutes.items()
    ]
    if not overdue:
        return []
    query = (
        select(IncidentRow.data)
        .where(IncidentRow.state == "open", IncidentRow.escalation_level < max_level, or_(*overdue))
        .order_by(IncidentRow.escalation_since)
        .limit(limit)
    )
    return [Incident.model_validate(data) for data in session.scalars(query)]


def list_alerts(*, session: Session, rule: str | None = None, incident_id: str | None = None,
                limit: int = 100, before: tuple[datetime, str] | None = None) -> list[Alert]:
    """Stored alert signals (what detectors raised, each stamped with its incident), newest event first
    (ties: greater alert id first); ``before``: only those after this (occurred_at, alert_id) in that order,
    for keyset pages."""
    query = select(SignalRow.data).order_by(SignalRow.occurred_at.desc(), SignalRow.alert_id.desc()).limit(limit)
    if rule:
        query = query.where(SignalRow.rule == rule)
    if incident_id:
        query = query.where(SignalRow.incident_id == incident_id)
    if before is not None:
        at, alert_id = before
        query = query.where(or_(SignalRow.occurred_at < at, and_(SignalRow.occurred_at == at, SignalRow.alert_id < alert_id)))
    return [Alert.model_validate(data) for data in session.scalars(query)]


def incident_posts(incident_id: str, *, session: Session, before: str | None = None,
                   limit: int = 50) -> tuple[list[SignalPost], str | None]:
    """One page of the posts behind an incident (a digest's queue): each alert's post, newest first, and
    the cursor of the next page (``None`` after the last). Raises ``InvalidCursor`` for a bad ``before``."""
    page = list_alerts(session=session, incident_id=incident_id, limit=limit + 1,
                       before=decode_cursor(before) if before else None)
    more, page = len(page) > limit, page[:limit]
    cursor = encode_cursor(as_aware(page[-1].occurred_at), page[-1].alert_id) if more else None
    return [SignalPost.of(alert) for alert in page], cursor
