"""The embedded runtime's ``IntakeSink``: accepted records are committed to the intake journal (SQLite, in
the data dir) before ``accept`` returns, then fed to the runtime's in-process topics; once the pipeline has
drained everything fed, the journal forgets it. A process killed in between leaves rows behind, and
``recover`` feeds them again on the next start (the lanes are idempotent by event key: at least once).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ingest.contracts import SocialEvent
from ingest.deadletter import DeadLetter
from ingest.exceptions import IntakeUnavailable
from streams.intake_journal import append_messages, journalled_messages, trim_journal
from streams.runtimes.embedded import EmbeddedRuntime
from streams.steps.intake import intake_messages

log = logging.getLogger(__name__)


class JournalSink:
    """Journal, then feed ``runtime``. Thread-safe: writers take one lock around commit and feed (SQLite has
    one writer at a time anyway), so the journal ids fed so far are always a prefix, and trimming through
    the last one fed is exact."""

    def __init__(
        self,
        runtime: EmbeddedRuntime,
        session_factory: sessionmaker[Session],
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._runtime = runtime
        self._session_factory = session_factory
        self._clock = clock
        self._lock = threading.Lock()
        self._fed = 0
        self._trimmed = 0
        runtime.on_drained(self._trim)

    def recover(self) -> int:
        """Feed the runtime every row an earlier process left in the journal; returns how many. Call once,
        before serving. Blocks on the database."""
        with self._lock:
            with self._session_factory() as session:
                rows = journalled_messages(session=session)
            for row_id, message in rows:
                self._runtime.publish(message.value or b"", message.key, topic=message.topic)
                self._fed = row_id
        if rows:
            log.info("intake journal: fed %d record(s) accepted before the last stop again", len(rows))
        return len(rows)

    def accept(self, records: Sequence[SocialEvent | DeadLetter]) -> None:
        """Commit ``records`` to the journal, then feed them to the runtime. Blocks on the database; raises
        ``IntakeUnavailable`` when the journal cannot be written (nothing was accepted then)."""
        messages = intake_messages(records)
        if not messages:
            return
        with self._lock:
            try:
                with self._session_factory() as session, session.begin():
                    last = append_messages(messages, self._clock(), session=session)
            except SQLAlchemyError as exc:
                raise IntakeUnavailable(f"the intake journal cannot be written ({type(exc).__name__})") from exc
            for message in messages:
                self._runtime.publish(message.value or b"", message.key, topic=message.topic)
            self._fed = last

    def _trim(self) -> None:
        """On the processing thread, when every topic is handled: forget every record fed so far."""
        with self._lock:
            if self._runtime.pending():
                return
            through = self._fed
        if through <= self._trimmed:
            return
        try:
            with self._session_factory() as session, session.begin():
                trim_journal(through, session=session)
        except SQLAlchemyError as exc:
            log.warning("intake journal: trim failed (%s); retried at the next drain", type(exc).__name__)
            return
        self._trimmed = through
