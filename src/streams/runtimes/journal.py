"""The embedded runtime's ``IntakeSink``: accepted records are committed to the intake journal (SQLite, in
the data dir) before ``accept`` returns, then fed to the runtime's in-process topics; once the pipeline has
drained everything fed, the journal forgets it. A process killed in between leaves rows behind, and
``recover`` feeds them again on the next start (the lanes are idempotent by event key: at least once).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from ingest.contracts import SocialEvent
from ingest.deadletter import DeadLetter
from ingest.exceptions import IntakeUnavailable
from streams.intake_journal import append_messages, journalled_messages, trim_journal
from streams.runtimes.embedded import EmbeddedRuntime
from streams.steps.intake import intake_messages
from streams.transports import Outgoing

ACCEPT_TIMEOUT_SECONDS = 10.0
"""How long ``accept`` waits for its commit before answering 503 (platforms give 5-20 s)."""

log = logging.getLogger(__name__)


@dataclass
class _Pending:
    """One ``accept`` call waiting for the group commit that holds its messages."""

    messages: list[Outgoing]
    done: threading.Event = field(default_factory=threading.Event)
    error: IntakeUnavailable | None = None


class JournalSink:
    """Journal, then feed ``runtime``. Thread-safe, with group commit: concurrent ``accept`` calls queue their
    messages and one writer thread commits everything queued in one transaction, feeds it, and wakes them
    (a lone delivery waits for one commit; a burst shares commits instead of queueing for a lock). The journal
    ids fed so far are always a prefix, so trimming through the last one fed is exact."""

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
        self._queue: list[_Pending] = []
        self._queued = threading.Condition()
        self._closed = False
        self._writer = threading.Thread(target=self._write_loop, name="intake-journal", daemon=True)
        self._writer.start()
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
        pending = _Pending(list(messages))
        with self._queued:
            if self._closed:
                raise IntakeUnavailable("the intake journal is closed")
            self._queue.append(pending)
            self._queued.notify()
        if not pending.done.wait(ACCEPT_TIMEOUT_SECONDS):
            raise IntakeUnavailable(f"the intake journal did not commit within {ACCEPT_TIMEOUT_SECONDS:g} s")
        if pending.error is not None:
            raise pending.error

    def close(self) -> None:
        """Commit what is queued, then stop the writer thread. Idempotent."""
        with self._queued:
            self._closed = True
            self._queued.notify()
        self._writer.join(timeout=ACCEPT_TIMEOUT_SECONDS)

    def _write_loop(self) -> None:
        while True:
            with self._queued:
                while not self._queue and not self._closed:
                    self._queued.wait()
                batch, self._queue = self._queue, []
                if not batch and self._closed:
                    return
            self._commit(batch)

    def _commit(self, batch: list[_Pending]) -> None:
        messages = [message for pending in batch for message in pending.messages]
        error: IntakeUnavailable | None = None
        with self._lock:
            try:
                with self._session_factory() as session, session.begin():
                    last = append_messages(messages, self._clock(), session=session)
            except SQLAlchemyError as exc:
                error = IntakeUnavailable(f"the intake journal cannot be written ({type(exc).__name__})")
            else:
                for message in messages:
                    self._runtime.publish(message.value or b"", message.key, topic=message.topic)
                self._fed = last
        for pending in batch:
            pending.error = error
            pending.done.set()

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
