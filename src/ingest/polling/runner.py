"""The poll connectors of a connectors file, run: each one's ``PollEngine`` drained into an ``IntakeSink``,
its cursors and health in the platform database. The thin shell around the engine (threads, clocks,
HTTP clients); what a round does is the engine's.

- ``run_once``: every connector in turn until its listings are drained (``scrm poll --once``); returns
  each one's health.
- ``run(stop)``: a thread per connector, a round every ``interval_seconds`` (a connector waiting for a
  rate limit holds up only itself) until ``stop`` is set; a wait in progress ends at once then.
A page's events and dead letters go to the sink as one ``accept`` (durable when it returns), and only then
is its cursor stored: a runner killed at any moment fetches at most the page in flight again (same event
ids: counted once downstream) and never skips one. A round that fails on our side (the intake or the
database unavailable, or a bug) keeps its cursor, is recorded in the connector's health and is tried again
at the next interval: a connector's thread never dies of it. Dead letters from a poll have stage ``poll`` and source ``poll:<connector>``.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy.exc import SQLAlchemyError

from ingest.connectors import PollConnector
from ingest.deadletter import DeadLetter
from ingest.exceptions import IntakeUnavailable
from ingest.polling.cursors import CursorStore
from ingest.polling.engine import PolledBatch, PollEngine, PollStats
from ingest.polling.health import HealthStore, PollHealth
from ingest.sink import IntakeSink

log = logging.getLogger(__name__)

ONCE_MAX_PAGES = 100_000
"""Pages per endpoint a ``run_once`` round takes at most (a bound against a listing that never ends)."""
HTTP_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
TRANSIENT = (IntakeUnavailable, SQLAlchemyError, OSError)
"""Failures on our side that end a round without moving its cursor; the next round tries again."""


@dataclass(frozen=True)
class RoundResult:
    """One connector's round: what it did (``stats``), why it failed (``error``, ``None`` when it did not:
    the platform refused it, an endpoint stayed unavailable, or our side failed) and its record after it."""

    connector: str
    stats: PollStats
    error: str | None
    health: PollHealth


class PollStopped(Exception):
    """``stop`` was set during a wait: the round ends where it stands (cursors as stored)."""


def poll_source(connector: str) -> str:
    """The ``source_topic`` of a dead letter from a connector's poll (not a topic: not replayable)."""
    return f"poll:{connector}"


@dataclass(frozen=True)
class IntakeBatches:
    """The engine's ``Sink`` on an ``IntakeSink``: a page's events and its unreadable items (as dead
    letters with their bytes and the reason) in one ``accept``."""

    sink: IntakeSink
    clock: Callable[[], datetime]

    def __call__(self, batch: PolledBatch) -> None:
        now = self.clock()
        letters = [DeadLetter(original=item.original, error=str(item.error), field=item.error.field, stage="poll",
                              source_topic=poll_source(batch.connector), failed_at=now,
                              headers={"endpoint": batch.endpoint})
                   for item in batch.invalid]
        if batch.events or letters:
            self.sink.accept([*batch.events, *letters])


class PollRunner:
    """Runs ``connectors`` into ``sink`` (see the module docstring). ``clock`` gives aware datetimes;
    ``client_for`` builds a connector's HTTP client (closed by the runner); ``sleep`` is the wait of
    ``run_once`` (``time.sleep``; tests pass their clock's)."""

    def __init__(
        self,
        connectors: Mapping[str, PollConnector],
        *,
        sink: IntakeSink,
        cursors: CursorStore,
        health: HealthStore,
        clock: Callable[[], datetime],
        client_for: Callable[[PollConnector], httpx.Client] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._connectors = dict(connectors)
        self._sink = IntakeBatches(sink, clock)
        self._cursors = cursors
        self._health = health
        self._clock = clock
        self._client_for = client_for or (lambda _: httpx.Client(timeout=HTTP_TIMEOUT, follow_redirects=False))
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._records: dict[str, PollHealth] = {}
        logging.getLogger("httpx").setLevel(logging.WARNING)  # request lines carry the connectors' queries

    def run_once(self) -> dict[str, RoundResult]:
        """Drain every connector once, in name order; returns each one's round. Blocks."""
        self._load_records()
        results = {}
        for name, connector in sorted(self._connectors.items()):
            with self._client_for(connector) as http:
                engine = self._engine(connector, http, self._sleep, max_pages=ONCE_MAX_PAGES)
                results[name] = self._round(connector, engine, interval=None)
        return results

    def run(self, stop: threading.Event) -> None:
        """Poll every connector on its interval until ``stop`` is set; returns once every thread ended."""
        self._load_records()
        threads = [threading.Thread(target=self._loop, args=(connector, stop), name=f"poll-{name}", daemon=True)
                   for name, connector in sorted(self._connectors.items())]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def health(self) -> dict[str, PollHealth]:
        """Each connector's record as this runner last wrote it."""
        with self._lock:
            return dict(self._records)

    def _loop(self, connector: PollConnector, stop: threading.Event) -> None:
        def wait(seconds: float) -> None:
            if stop.wait(seconds):
                raise PollStopped

        interval = timedelta(seconds=connector.config.interval_seconds)
        with self._client_for(connector) as http:
            engine = self._engine(connector, http, wait)
            while not stop.is_set():
                try:
                    self._round(connector, engine, interval=interval)
                except PollStopped:
                    return
                stop.wait(interval.total_seconds())

    def _engine(self, connector: PollConnector, http: httpx.Client, sleep: Callable[[float], None],
                max_pages: int = 50) -> PollEngine:
        return PollEngine(connector.poller(), http=http, sink=self._sink, cursors=self._cursors, clock=self._clock,
                          sleep=sleep, rng=self._rng, max_pages=max_pages)

    def _round(self, connector: PollConnector, engine: PollEngine, *, interval: timedelta | None) -> RoundResult:
        """One round of ``engine``, recorded (the next one due ``interval`` after it ends; ``None``: no next
        round); failures on our side are recorded too and end only the round."""
        before = engine.stats
        try:
            stats = engine.poll_once().since(before)
        except PollStopped:
            raise
        except Exception as exc:  # noqa: BLE001 - a round never ends the connector's thread
            reason = f"round failed on our side: {type(exc).__name__}"
            if isinstance(exc, TRANSIENT):
                log.warning("poll connector %s: %s", connector.name, reason)
            else:  # a bug: the type only, since a message may quote the platform's data
                log.error("poll connector %s: %s (a bug; the cursor stays, the next round tries again)",
                          connector.name, reason)
            stats, at = engine.stats.since(before), self._clock()
            health = self._current(connector).failed(stats, reason, at=at,
                                                     next_round_at=at + interval if interval else None)
            self._record(health)
            return RoundResult(connector.name, stats, reason, health)
        at = self._clock()
        health = self._current(connector).after_round(stats, at=at, next_round_at=at + interval if interval else None,
                                                      refused_until=engine.refused_until)
        self._record(health)
        return RoundResult(connector.name, stats, stats.last_error, health)

    def _current(self, connector: PollConnector) -> PollHealth:
        with self._lock:
            found = self._records.get(connector.name)
        unavailable = tuple(f"{s.what}: {s.reason}" for s in connector.poller().unavailable)
        base = found or PollHealth(connector=connector.name, platform=connector.platform)
        return base.model_copy(update={"platform": connector.platform, "unavailable": unavailable})

    def _record(self, health: PollHealth) -> None:
        with self._lock:
            self._records[health.connector] = health
        try:
            self._health.save(health)
        except TRANSIENT as exc:
            log.warning("poll connector %s: health not stored (%s)", health.connector, type(exc).__name__)

    def _load_records(self) -> None:
        stored = self._health.load()
        with self._lock:
            self._records = {name: record for name, record in stored.items() if name in self._connectors}
