"""The segment sweep: re-evaluate every saved segment over every profile, for what changes with time
alone (a ``within_days`` window closing with no new event), and publish the entries and exits it makes.

``scrm serve`` runs it every ``PipelineConfig.segment_sweep_seconds``; on the Kafka runtime the worker that
owns the identity partition runs it (one sweeper at a time); ``scrm segments refresh`` runs one by hand.

Each segment is swept in two steps: plain reads find the customers whose membership the rule now decides
differently (``segments.store.drifted``: anti-joins over every profile, no lock held, so the apply lane
never waits for the scan), then one short transaction re-decides just those customers exactly as the apply
lane does (``segments.membership.redecide``), recording the changes with the cause
``sweep:<microseconds since the epoch>`` of that evaluation (``sweep_cause``); they are published after the
commit. The publication is at-least-once: a sweep first re-publishes the changes of each segment's last
evaluation (found again by its cause, derived from the stored ``evaluated_at``), so a sweeper killed
between commit and publish publishes them with the next sweep; consumers deduplicate by ``change_id``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from profile_store.segments.membership import SegmentChange, changes_caused_by, redecide
from profile_store.segments.store import drifted, list_segments

log = logging.getLogger(__name__)

Publish = Callable[[Sequence[SegmentChange]], None]
"""Sends changes to ``scrm.segments.changes`` (blocks until they are durable; raises if it cannot)."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def sweep_cause(at: datetime) -> str:
    """The cause of the changes a sweep evaluating at wall time ``at`` makes: exact to the microsecond, so
    the same string comes back from the stored ``evaluated_at`` on SQLite and PostgreSQL alike."""
    return f"sweep:{(at - _EPOCH) // timedelta(microseconds=1)}"


def sweep_segments(session_factory: sessionmaker[Session], *, publish: Publish | None = None,
                   now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> dict[str, tuple[int, int]]:
    """Re-evaluate each segment; ``name -> (entered, left)`` of those swept (a segment deleted meanwhile is
    left out). With ``publish``, each segment's changes are published after its commit, preceded by those
    of its previous evaluation. Blocks; raises what ``publish`` raises (the changes stay recorded and go
    out with the next sweep)."""
    swept: dict[str, tuple[int, int]] = {}
    with session_factory() as session:
        previous = {s.name: sweep_cause(s.evaluated_at) for s in list_segments(session=session)}
    for name, last in previous.items():
        with session_factory() as session:
            found = drifted(name, session=session)
        if found is None:  # deleted meanwhile
            continue
        customers, clock = found
        at = now()
        with session_factory.begin() as session:
            made = redecide(name, customers, cause=sweep_cause(at), newest=clock, at=at, session=session)
        if made is None:
            continue
        swept[name] = (sum(c.change == "enter" for c in made), sum(c.change == "leave" for c in made))
        if publish is not None:
            with session_factory() as session:
                changes = changes_caused_by([last], session=session)
            publish([*(c for c in changes if c.segment == name), *made])
    return swept


def run_sweeps(session_factory: sessionmaker[Session], stop: threading.Event, *, every_seconds: float,
               publish: Publish | None = None, active: Callable[[], bool] = lambda: True) -> None:
    """Sweep every ``every_seconds`` until ``stop`` is set (it ends a wait at once), while ``active()``
    (on Kafka: while this worker owns the identity partition). A failed sweep is logged and the next one
    runs on time. Blocks."""
    while not stop.wait(every_seconds):
        if not active():
            continue
        try:
            swept = sweep_segments(session_factory, publish=publish)
        except Exception:  # a sweep must never take the serving process down
            log.exception("segment sweep failed; the next runs in %.0f s", every_seconds)
            continue
        moved = {name: counts for name, counts in swept.items() if counts != (0, 0)}
        if moved:
            log.info("segment sweep: %s", ", ".join(f"{n} +{e}/-{lft}" for n, (e, lft) in moved.items()))

