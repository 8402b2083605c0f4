"""SQLAlchemy tables of the alerts package (SQLite and PostgreSQL).

- ``alert_incidents``: one row per incident; ``open_key`` is the dedup key while the incident is not
  resolved (unique), ``NULL`` after, so at most one open incident exists per dedup key;
  ``escalation_level`` and ``escalation_since`` (``alerts.incidents.escalation_clock``) let the
  escalation scan select the incidents past their SLA in SQL.
- ``alert_signals``: every alert a detector raised, by ``alert_id``, with the key of the event it is
  about (a replayed event re-publishes its alerts from here; ``NULL`` where that is unknown, see
  ``Alert.event_key``).
- ``alert_detector_state``: detector state entries by key (see ``alerts.state``).
- ``alert_event_ledger``: every event the detectors have seen, by event key (``SocialEvent.event_key``:
  platform, author id, event id; the alert step's idempotency ledger: a replayed event moves no detector
  state).
- ``alert_outbox``: one row per incident version to deliver, written in the transaction that changed the
  incident; ``alert_deliveries``: one row per incident version and channel; ``alert_delivery_deadletters``:
  deliveries that failed every attempt.
- ``alert_segment_feeds``: one row per segment feed (``alerts.segment_feeds``): the last segment change it
  delivered, and the retry state of the batch after it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class AlertBase(DeclarativeBase):
    """Declarative base of the alerts tables."""


class IncidentRow(AlertBase):
    __tablename__ = "alert_incidents"

    incident_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(512), index=True)
    open_key: Mapped[str | None] = mapped_column(String(512), unique=True)
    rule: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    severity: Mapped[int] = mapped_column(Integer, index=True)
    state: Mapped[str] = mapped_column(String(32), index=True)
    brand: Mapped[str | None] = mapped_column(String(256), index=True)
    assignee: Mapped[str | None] = mapped_column(String(256))
    team: Mapped[str | None] = mapped_column(String(256))
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    version: Mapped[int] = mapped_column(Integer)
    escalation_level: Mapped[int] = mapped_column(Integer)
    escalation_since: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    data: Mapped[dict[str, object]] = mapped_column(JSON)


class SignalRow(AlertBase):
    __tablename__ = "alert_signals"

    alert_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_key: Mapped[str | None] = mapped_column(String(600), index=True)
    incident_id: Mapped[str | None] = mapped_column(String(64), index=True)
    rule: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    data: Mapped[dict[str, object]] = mapped_column(JSON)


class DetectorStateRow(AlertBase):
    __tablename__ = "alert_detector_state"

    key: Mapped[str] = mapped_column(String(600), primary_key=True)
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    data: Mapped[dict[str, object]] = mapped_column(JSON)


class EventLedgerRow(AlertBase):
    __tablename__ = "alert_event_ledger"

    event_key: Mapped[str] = mapped_column(String(600), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OutboxRow(AlertBase):
    __tablename__ = "alert_outbox"

    incident_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    change: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    data: Mapped[dict[str, object]] = mapped_column(JSON)


class DeliveryRow(AlertBase):
    __tablename__ = "alert_deliveries"

    incident_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(128), primary_key=True)
    route: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, object]] = mapped_column(JSON)


class DeliveryDeadLetterRow(AlertBase):
    __tablename__ = "alert_delivery_deadletters"

    incident_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(128), primary_key=True)
    route: Mapped[str] = mapped_column(String(128))
    failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    attempts: Mapped[int] = mapped_column(Integer)
    error: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, object]] = mapped_column(JSON)


class SegmentFeedRow(AlertBase):
    __tablename__ = "alert_segment_feeds"

    feed: Mapped[str] = mapped_column(String(128), primary_key=True)
    delivered_through: Mapped[int] = mapped_column(Integer)
    delivered: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
