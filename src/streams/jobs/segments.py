"""The segment sweep: re-evaluate every saved segment over every profile, for what changes with time
alone (a ``within_days`` window closing with no new event). ``scrm serve`` runs it every
``sweep_seconds``; on the Kafka runtime, schedule ``scrm segments refresh --database-url ...``."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from profile_store.segments.store import list_segments, reevaluate

log = logging.getLogger(__name__)


def sweep_segments(session_factory: sessionmaker[Session]) -> dict[str, tuple[int, int]]:
    """Re-evaluate each segment in its own transaction; ``name -> (entered, left)``. Blocks."""
    swept: dict[str, tuple[int, int]] = {}
    with session_factory() as session:
        names = [segment.name for segment in list_segments(session=session)]
    for name in names:
        with session_factory.begin() as session:
            try:
                entered, left = reevaluate(name, at=datetime.now(UTC), session=session)
            except LookupError:  # deleted meanwhile
                continue
        swept[name] = (len(entered), len(left))
    return swept


def run_sweeps(session_factory: sessionmaker[Session], stop: threading.Event, *, every_seconds: float) -> None:
    """Sweep every ``every_seconds`` until ``stop`` is set (it ends a wait at once). A failed sweep is
    logged and the next one runs on time. Blocks."""
    while not stop.wait(every_seconds):
        try:
            swept = sweep_segments(session_factory)
        except Exception:  # a sweep must never take the serving process down
            log.exception("segment sweep failed; the next runs in %.0f s", every_seconds)
            continue
        moved = {name: counts for name, counts in swept.items() if counts != (0, 0)}
        if moved:
            log.info("segment sweep: %s", ", ".join(f"{n} +{e}/-{lft}" for n, (e, lft) in moved.items()))
