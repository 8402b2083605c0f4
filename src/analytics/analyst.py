"""The analyst door's execution: admitted SQL runs on clients of its own, under server-side limits, a few at
a time, and can be cancelled from another thread.

Each of the door's clients is born read-only: its session gets the limits and then ``readonly=1``, which
forbids writes, DDL, most table functions and any later change of a setting (``SET`` or a ``SETTINGS``
clause), so the limits cannot be lifted from inside, and queries carry no per-call settings (per-call
settings on an INSERT make clickhouse-connect ``SET`` and restore them on the session, and under
``readonly=1`` the restore fails: the session stays read-only; that is how one ``WITH ... INSERT`` used to
turn the pipeline's shared session read-only).

Measured on chDB 4.4 (engine 26.9) in one process (the embedded runtime's case): every clickhouse-connect
client gets its own chDB connection handle, so the door's clients share neither session state nor lock with
the pipeline's; queries on different handles run concurrently and release the GIL (the pipeline's writer
kept inserting through its own client while an analyst query ran); ``readonly``, ``max_execution_time``,
``max_memory_usage``, ``max_rows_to_read`` and ``max_result_rows`` are honoured; ``KILL QUERY`` from another
handle stops a running query within milliseconds. On a ClickHouse server the same settings travel with each
HTTP request, and ``cancel_http_readonly_queries_on_client_close`` also stops a query whose API process died.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from analytics.analyst_errors import CANCELLED, translate_error
from analytics.client import AnalyticsClient, connect
from analytics.door import admit
from analytics.exceptions import DoorBusy, QueryCancelled

log = logging.getLogger(__name__)

TRANSPORT_GRACE_S = 10.0  # a server call waits this much longer than the query's own time limit
CONTROL_TIMEOUT_S = 10.0  # for KILL QUERY on a server


class AnalystDoorConfig(BaseModel):
    """Limits of every analyst query (ClickHouse settings of the door's read-only sessions) and of the door
    itself; configured through the deployable's settings (``SCRM_ANALYST__MAX_EXECUTION_TIME_S=10``,
    ``SCRM_ANALYST__CONCURRENCY=4``, ...)."""

    model_config = ConfigDict(frozen=True)

    max_execution_time_s: float = Field(default=30.0, gt=0, le=3600, description="the engine cuts a query here")
    max_memory_usage_bytes: int = Field(default=1 << 30, ge=1, description="per query (1 GiB by default)")
    max_rows_to_read: int = Field(
        default=1_000_000_000, ge=0,
        description="rows a query may read from tables, before filtering; 0: no limit",
    )
    max_result_rows: int = Field(
        default=10_000, ge=1, le=100_000, description="rows returned at most; a request may ask for fewer"
    )
    max_threads: int = Field(
        default=0, ge=0, description="threads per query; 0 leaves ClickHouse's default (all cores)"
    )
    concurrency: int = Field(
        default=2, ge=1, le=32, description="analyst queries at once; more are answered busy at once"
    )


class AnalystResult(BaseModel):
    """Columns and rows of an analyst query; ``truncated`` when more rows than asked for existed."""

    model_config = ConfigDict(frozen=True)

    columns: list[str]
    rows: list[list[Any]]
    truncated: bool = False


def session_settings(config: AnalystDoorConfig) -> dict[str, Any]:
    """The ClickHouse settings of every analyst session, in the order they are applied: ``readonly=1``
    comes last and locks the others. One row more than ``max_result_rows`` is kept so that a cut result can
    be told from an exact one."""
    settings: dict[str, Any] = {
        "max_execution_time": config.max_execution_time_s,
        "timeout_overflow_mode": "throw",
        "max_memory_usage": config.max_memory_usage_bytes,
        "max_rows_to_read": config.max_rows_to_read,
        "read_overflow_mode": "throw",
        "max_result_rows": config.max_result_rows + 1,
        "result_overflow_mode": "break",
        "cancel_http_readonly_queries_on_client_close": 1,
    }
    if config.max_threads:
        settings["max_threads"] = config.max_threads
    return {**settings, "readonly": 1}


class AnalystDoor:
    """Runs admitted analyst SQL on ``clients`` (one per slot: at most ``len(clients)`` queries at once, each
    session set up with ``session_settings``) and cancels through ``control``. None of these clients may be
    the pipeline's. Thread-safe."""

    def __init__(
        self,
        *,
        clients: Sequence[AnalyticsClient],
        control: AnalyticsClient,
        config: AnalystDoorConfig,
        database: str,
    ) -> None:
        self.config = config
        self.database = database
        self._idle = list(clients)
        self._all = list(clients)
        self._control = control
        self._lock = threading.Lock()
        self._tag = f"/* scrm-analyst:{uuid.uuid4().hex}:"  # marks this door's queries in system.processes

    def prepare(self, sql: str, *, max_rows: int | None = None) -> AnalystQuery:
        """Check ``sql`` (see ``analytics.door``) and bind it to this door; nothing runs yet. Pure apart
        from parsing (up to tens of ms for a long statement); raises ``QueryRefused``."""
        admitted = admit(sql, database=self.database)
        rows = min(max_rows or self.config.max_result_rows, self.config.max_result_rows)
        marker = f"{self._tag}{uuid.uuid4().hex} */ "
        return AnalystQuery(self, marker + admitted.sql, marker=marker, max_rows=rows)

    def close(self) -> None:
        """Stop this door's running queries and close its clients. Blocks until they have ended."""
        self._kill(self._tag)
        for client in [*self._all, self._control]:
            client.close()

    def _take(self) -> AnalyticsClient | None:
        with self._lock:
            return self._idle.pop() if self._idle else None

    def _give(self, client: AnalyticsClient) -> None:
        with self._lock:
            self._idle.append(client)

    def _kill(self, prefix: str) -> None:
        """Ask the engine to stop every query whose text starts with ``prefix``; returns without waiting.
        Logs, never raises: cancelling is best effort, the query's own time limit still holds."""
        try:
            self._control.command(
                "KILL QUERY WHERE startsWith(query, {prefix:String}) ASYNC", parameters={"prefix": prefix}
            )
        except Exception:
            log.warning("could not cancel analyst queries", exc_info=True)


class AnalystQuery:
    """One admitted query: ``run`` it once (blocks), ``cancel`` it from any thread. ``sql`` starts with
    ``marker``, a comment that finds the query in ``system.processes``."""

    def __init__(self, door: AnalystDoor, sql: str, *, marker: str, max_rows: int) -> None:
        self.sql = sql
        self.marker = marker
        self.max_rows = max_rows
        self._door = door
        self._cancelled = threading.Event()
        self._started = threading.Event()
        self._finished = threading.Event()

    def run(self) -> AnalystResult:
        """Run on a free slot of the door. Blocks until the result, a limit or a cancel. Raises
        ``DoorBusy`` (no free slot: nothing ran), ``QueryCut``, ``QueryCancelled``, ``QueryRefused`` (the
        engine refused a write), ``QueryFailed`` or ``StoreFailed``; every message is fit to show to the
        analyst."""
        client = self._door._take()
        if client is None:
            raise DoorBusy(
                f"busy: {self._door.config.concurrency} analyst queries are already running, the most at once; "
                "try again when one has finished"
            )
        try:
            if self._cancelled.is_set():
                raise QueryCancelled(CANCELLED)
            self._started.set()
            try:
                columns, rows = client.query(self.sql)
            except Exception as exc:
                raise translate_error(exc, config=self._door.config, cancelled=self._cancelled.is_set()) from None
            if self._cancelled.is_set():
                raise QueryCancelled(CANCELLED)
        finally:
            self._finished.set()
            self._door._give(client)
        kept = [list(row) for row in rows[: self.max_rows]]
        return AnalystResult(columns=columns, rows=kept, truncated=len(rows) > self.max_rows)

    def cancel(self) -> None:
        """Stop the query: before it starts, ``run`` raises ``QueryCancelled`` at once; while it runs, the
        engine is asked to kill it and ``run`` raises ``QueryCancelled`` when it stops. Idempotent, returns
        without waiting. A cancel that lands in the instant between the start and the engine registering
        the query finds nothing to kill: that query is then bounded by its time limit, and its result is
        discarded."""
        self._cancelled.set()
        if self._started.is_set() and not self._finished.is_set():
            self._door._kill(self.marker)


def open_analyst_door(dsn: str, config: AnalystDoorConfig, *, database: str = "scrm") -> AnalystDoor:
    """Open the door's own clients on ``dsn`` (``database`` must exist: open the pipeline's storage first).
    Blocks; raises the driver's errors when the store is unreachable."""
    opened: list[AnalyticsClient] = []
    try:
        for _ in range(config.concurrency):
            opened.append(connect(
                dsn, database, use_database=True, settings=session_settings(config),
                timeout_s=config.max_execution_time_s + TRANSPORT_GRACE_S,
            ))
        control = connect(dsn, database, timeout_s=CONTROL_TIMEOUT_S)
    except Exception:
        for client in opened:
            client.close()
        raise
    return AnalystDoor(clients=opened, control=control, config=config, database=database)
