"""The analytics sync: incidents (every version), alerts, segment membership changes and poll connector
health, from the platform database into ClickHouse, by watermark.

Why a sync and not a hook in each writer: incidents change in the alert lane, in the API (acknowledge,
assign, resolve, snooze, comment) and in the escalation scan; segment changes in the apply lane, the segment
sweep and segment creation; connector health in whichever process polls. Each of those commits its change
to the database first, so reading the database afterwards sees every change of every writer, on both
runtimes, without touching them. The sources keep what the sync needs: the alerts outbox holds one row per
incident version (``created_at``), alerts their ``recorded_at``, segment changes an increasing
``change_id``, ``poll_health`` its ``updated_at``.

At-least-once and idempotent: the watermark is the newest value stored in ClickHouse itself (so there is no
second cursor to keep in step), each pass re-reads an overlap before it (``LOOKBACK`` of wall-clock time,
``ID_OVERLAP`` ids), so a transaction that committed after a later one is still found, and the writers insert
only keys not stored yet (``analytics.operations``). A pass interrupted anywhere is repeated by the next
one; two passes racing insert each row once (the insert deduplication tokens). A change committed more
than ``LOOKBACK`` (or ``ID_OVERLAP`` segment changes) after a newer one was synced would be missed: far
beyond any transaction here.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy.orm import Session, sessionmaker

from alerts.repository import incident_versions_since, signals_recorded_since
from analytics.client import AnalyticsClient
from analytics.operations import (
    newest,
    write_alerts,
    write_connector_health,
    write_incident_versions,
    write_memberships,
)
from analytics.schema.tables import (
    ALERTS_TABLE,
    INCIDENT_CHANGES_TABLE,
    SEGMENT_CHANGES_TABLE,
)
from ingest.polling.health import health_records
from profile_store.segments.membership import changes_after
from streams.steps.operations import alert_row, incident_version_row, membership_row, poll_health_row

log = logging.getLogger(__name__)

LOOKBACK = timedelta(minutes=10)
ID_OVERLAP = 10_000
PAGE = 5_000
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SyncCounts:
    """Rows a pass inserted into ClickHouse, per table."""

    incident_versions: int = 0
    alerts: int = 0
    segment_changes: int = 0
    connector_health: int = 0


def sync_analytics(session_factory: sessionmaker[Session], client: AnalyticsClient, *, page: int = PAGE) -> SyncCounts:
    """One pass over every source (see the module docstring); returns what it inserted. Idempotent: a pass
    right after another inserts nothing. Blocks; raises the database's or the driver's errors (the next
    pass repeats whatever this one did not finish)."""
    return SyncCounts(
        incident_versions=_sync_incidents(session_factory, client, page),
        alerts=_sync_alerts(session_factory, client, page),
        segment_changes=_sync_segment_changes(session_factory, client, page),
        connector_health=_sync_connector_health(session_factory, client),
    )


def _sync_incidents(session_factory: sessionmaker[Session], client: AnalyticsClient, page: int) -> int:
    return _sync_by_time(
        session_factory, client, page, INCIDENT_CHANGES_TABLE, "changed_at",
        lambda since, session, offset: incident_versions_since(since, session=session, offset=offset, limit=page),
        lambda versions: write_incident_versions(client, [incident_version_row(v) for v in versions]),
    )


def _sync_alerts(session_factory: sessionmaker[Session], client: AnalyticsClient, page: int) -> int:
    return _sync_by_time(
        session_factory, client, page, ALERTS_TABLE, "recorded_at",
        lambda since, session, offset: signals_recorded_since(since, session=session, offset=offset, limit=page),
        lambda alerts: write_alerts(client, [alert_row(a, recorded_at=at) for a, at in alerts]),
    )


def _sync_by_time(
    session_factory: sessionmaker[Session], client: AnalyticsClient, page: int, table: str, column: str,
    read: Callable[[datetime | None, Session, int], Sequence[T]], write: Callable[[Sequence[T]], int],
) -> int:
    """Read pages (``read(since, session, offset)``) from ``LOOKBACK`` before the newest ``column`` stored in
    ``table`` (everything when it is empty) and ``write`` each; returns how many rows were inserted."""
    mark = newest(client, table, column)
    since = None if mark is None else mark - LOOKBACK
    inserted, offset = 0, 0
    while True:
        with session_factory() as session:
            found = read(since, session, offset)
        inserted += write(found)
        if len(found) < page:
            return inserted
        offset += page


def _sync_segment_changes(session_factory: sessionmaker[Session], client: AnalyticsClient, page: int) -> int:
    mark = newest(client, SEGMENT_CHANGES_TABLE, "change_id")
    after = -1 if mark is None else max(-1, int(mark) - ID_OVERLAP)
    inserted = 0
    while True:
        with session_factory() as session:
            changes = changes_after(after, session=session, limit=page)
        inserted += write_memberships(client, [membership_row(c) for c in changes])
        if len(changes) < page:
            return inserted
        after = changes[-1].change_id


def _sync_connector_health(session_factory: sessionmaker[Session], client: AnalyticsClient) -> int:
    with session_factory() as session:
        records = health_records(session=session)
    return write_connector_health(client, [poll_health_row(h, recorded_at=at) for h, at in records])


def run_syncs(session_factory: sessionmaker[Session], client: AnalyticsClient, stop: threading.Event, *,
              every_seconds: float, active: Callable[[], bool] = lambda: True) -> None:
    """A pass every ``every_seconds`` until ``stop`` is set (it ends a wait at once), skipped while
    ``active()`` is false (on Kafka: while this worker does not own the identity partition, so one worker
    syncs), and a last pass once ``stop`` is set whatever ``active()`` says, so what was committed before a
    worker stops reaches ClickHouse before it exits (passes are idempotent: any worker may run one). A
    failed pass is logged and the next one runs on time. Blocks."""
    while not stop.wait(every_seconds):
        if active():
            _logged_pass(session_factory, client, every_seconds)
    _logged_pass(session_factory, client, every_seconds)


def _logged_pass(session_factory: sessionmaker[Session], client: AnalyticsClient, every_seconds: float) -> None:
    try:
        counts = sync_analytics(session_factory, client)
    except Exception:  # a sync must never take the worker down; the next pass repeats this one
        log.exception("analytics sync failed; the next runs in %.0f s", every_seconds)
        return
    if counts != SyncCounts():
        log.info("analytics sync: %s", counts)
