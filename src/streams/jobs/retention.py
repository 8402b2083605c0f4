"""The retention job: apply the retention policy (``streams.steps.retention``) to every store.

One pass, at wall time ``now``: delete the profile events and interaction edges stored before the events
cut-off, and the dead letters that failed before theirs; blank the post text of the profile events, and the
post text quoted in alert evidence (``alerts.retention``), stored before the text cut-off; then the same on
ClickHouse's ``events`` (``analytics.retention``), when analytics is configured. Profiles, rollups, alert
counts and incidents' state are aggregates and stay. Kafka topics are bounded by their ``retention.ms``
(``streams.admin``); the embedded intake journal is trimmed by the pipeline itself.

SQL work goes in transactions of ``BATCH`` rows, so the apply lane never waits long for one on PostgreSQL.
Text blanking resumes from each store's mark (``streams.retention_marks``), so a pass reads only what was
stored since the previous cut-off; deletes use the time indexes. A pass interrupted anywhere is completed
by the next one (every step is idempotent). ``scrm serve`` runs a pass at start and every
``PipelineConfig.retention_interval_seconds``; on Kafka the worker owning the identity partition does;
``scrm retention run`` runs one by hand.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import Table
from sqlalchemy.orm import Session, sessionmaker

from alerts import retention as alert_retention
from analytics import retention as analytics_retention
from analytics.client import AnalyticsClient
from ingest.deadletter_store import count_dead_letters, delete_dead_letters
from profile_store import retention as event_retention
from sqlkit import RewritePage
from streams.retention_marks import load_mark, save_mark
from streams.steps.retention import RetentionPolicy, plan_retention

log = logging.getLogger(__name__)

BATCH = 10_000
"""Rows per SQL transaction."""
CHECK_SECONDS = 10.0
"""How often a worker that does not own the identity partition looks again whether it is its turn."""


@dataclass(frozen=True, slots=True)
class RetentionCounts:
    """Rows one pass changed (or, in a dry run, would change), per store."""

    event_texts: int = 0
    alert_evidence: int = 0
    events: int = 0
    edges: int = 0
    dead_letters: int = 0
    analytics_texts: int = 0
    analytics_events: int = 0

    def table(self) -> list[tuple[str, str, int]]:
        """``(store, what, rows)`` for each count, for a printed table."""
        return [(STORES[f.name][0], STORES[f.name][1], getattr(self, f.name)) for f in fields(self)]


STORES: dict[str, tuple[str, str]] = {
    "event_texts": ("profile_events", "text blanked"),
    "alert_evidence": ("alerts (signals, incidents, outbox, deliveries)", "evidence text blanked"),
    "events": ("profile_events", "deleted"),
    "edges": ("interaction_edges", "deleted"),
    "dead_letters": ("deadletters", "deleted"),
    "analytics_texts": ("clickhouse events", "text blanked"),
    "analytics_events": ("clickhouse events", "deleted"),
}


class _Page(Protocol):
    def __call__(self, *, since: datetime | None, before: datetime, after: tuple[Any, ...] | None, limit: int,
                 write: bool, session: Session) -> RewritePage: ...


def apply_retention(session_factory: sessionmaker[Session], analytics: AnalyticsClient | None,
                    policy: RetentionPolicy, *, now: datetime, dry_run: bool = False,
                    batch: int = BATCH) -> RetentionCounts:
    """One pass at wall time ``now`` (aware); ``dry_run`` counts what would go and changes nothing (not even
    the marks). Blocks; idempotent; raises the database's and the driver's errors (what was committed
    before stays done; the next pass completes the rest)."""
    plan = plan_retention(policy, now)
    write = not dry_run
    counts: dict[str, int] = {}
    if plan.events_before is not None:
        before = plan.events_before
        counts["events"] = _delete(session_factory, event_retention.delete_events, event_retention.count_events,
                                   before, write, batch)
        counts["edges"] = _delete(session_factory, event_retention.delete_edges, event_retention.count_edges,
                                  before, write, batch)
        if analytics is not None:
            counts["analytics_events"] = analytics_retention.delete_events(analytics, before=before, write=write)
    if plan.deadletters_before is not None:
        counts["dead_letters"] = _delete(session_factory, delete_dead_letters, count_dead_letters,
                                         plan.deadletters_before, write, batch)
    if plan.text_before is not None:
        # events due for deletion are not blanked first (in a dry run they are still there)
        before, deleted = plan.text_before, plan.events_before
        counts["event_texts"] = _blank(session_factory, "profile_events.text", event_retention.blank_event_texts,
                                       before, write, batch, floor=deleted)
        counts["alert_evidence"] = sum(
            _blank(session_factory, f"{table.name}.evidence", _evidence_pages(table), before, write, batch)
            for table, *_ in alert_retention.EVIDENCE_TABLES)
        if analytics is not None:
            counts["analytics_texts"] = analytics_retention.blank_event_texts(analytics, before=before, since=deleted,
                                                                              write=write)
    return RetentionCounts(**counts)


def _evidence_pages(table: Table) -> _Page:
    def page(*, since: datetime | None, before: datetime, after: tuple[Any, ...] | None, limit: int, write: bool,
             session: Session) -> RewritePage:
        return alert_retention.blank_evidence_texts(table, since=since, before=before, after=after, limit=limit,
                                                    write=write, session=session)
    return page


def _delete(session_factory: sessionmaker[Session], delete: Callable[..., int], count: Callable[..., int],
            before: datetime, write: bool, batch: int) -> int:
    """Delete in transactions of ``batch`` rows until none is left (or, without ``write``, count)."""
    if not write:
        with session_factory() as session:
            return count(before=before, session=session)
    total = 0
    while True:
        with session_factory.begin() as session:
            done = delete(before=before, limit=batch, session=session)
        total += done
        if done < batch:
            return total


def _blank(session_factory: sessionmaker[Session], store: str, page: _Page, before: datetime, write: bool,
           batch: int, *, floor: datetime | None = None) -> int:
    """Blank, page by page (a transaction each), what ``store`` holds from its mark (or ``floor``, if later)
    to ``before``, then move the mark there (with ``write``)."""
    with session_factory() as session:
        mark = load_mark(store, session=session)
    since = max((t for t in (mark, floor) if t is not None), default=None)
    if since is not None and since >= before:
        return 0
    total, after = 0, None
    while True:
        with session_factory.begin() as session:
            done = page(since=since, before=before, after=after, limit=batch, write=write, session=session)
        total += done.changed
        if done.after is None:
            break
        after = done.after
    if write:
        with session_factory.begin() as session:
            save_mark(store, before, session=session)
    return total


def logged_retention_pass(session_factory: sessionmaker[Session], analytics: AnalyticsClient | None,
                          policy: RetentionPolicy, *, now: datetime | None = None) -> RetentionCounts | None:
    """``apply_retention`` now, its counts logged (never texts or ids); a failure is logged and ``None``
    returned, never raised (the next pass repeats the work). Blocks."""
    try:
        counts = apply_retention(session_factory, analytics, policy, now=now or datetime.now(UTC))
    except Exception:  # retention must never stop the pipeline; the next pass completes this one
        log.exception("retention pass failed; the next one runs at the next interval")
        return None
    if counts != RetentionCounts():
        log.info("retention: %s", ", ".join(f"{store} {what}: {rows}" for store, what, rows in counts.table() if rows))
    return counts


def run_retention(session_factory: sessionmaker[Session], analytics: AnalyticsClient | None, stop: threading.Event,
                  *, policy: RetentionPolicy, every_seconds: float, active: Callable[[], bool] = lambda: True) -> None:
    """A pass as soon as ``active()`` (on Kafka: this worker owns the identity partition, so one worker runs
    it), then one every ``every_seconds`` while ``active()``, until ``stop`` is set (it ends a wait at once).
    A failed pass is logged; the next runs on time. Blocks."""
    due = time.monotonic()
    while True:
        if time.monotonic() >= due and active():
            logged_retention_pass(session_factory, analytics, policy)
            due = time.monotonic() + every_seconds
        if stop.wait(CHECK_SECONDS):
            return
