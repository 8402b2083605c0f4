"""ClickHouse clients: chDB in-process (``chdb:///path``) or a server (``clickhouse://...``), one code path.

A chDB data path can be opened by one process at a time, and a process can use only one path; within
that process each client gets its own connection handle (its own session: settings, current database), and
queries on different handles run concurrently. The embedded runtime shares one client (guarded by a lock)
between the pipeline and the API's console reads; the analyst door opens clients of its own.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import clickhouse_connect
from clickhouse_connect.driver.client import Client


class AnalyticsClient:
    """A thread-safe wrapper over one clickhouse-connect client. All calls block."""

    def __init__(self, client: Client, database: str) -> None:
        self._client = client
        self._lock = threading.Lock()
        self.database = database

    def command(self, sql: str, parameters: dict[str, Any] | None = None) -> Any:
        with self._lock:
            return self._client.command(sql, parameters=parameters)

    def insert(
        self,
        table: str,
        rows: Sequence[Sequence[Any]],
        column_names: Sequence[str],
        settings: dict[str, Any] | None = None,
    ) -> None:
        """Insert ``rows`` into ``table`` of this client's database; ``settings`` hold for this insert only
        (never on a read-only session: see ``analytics.analyst``)."""
        with self._lock:
            self._client.insert(table, list(rows), column_names=list(column_names), database=self.database,
                                settings=settings)

    def query(
        self, sql: str, parameters: dict[str, Any] | None = None, settings: dict[str, Any] | None = None
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Column names and rows of a query; ``settings`` are ClickHouse settings for this query only."""
        with self._lock:
            result = self._client.query(sql, parameters=parameters, settings=settings)
            return list(result.column_names), [tuple(row) for row in result.result_rows]

    def close(self) -> None:
        with self._lock:
            self._client.close()


def connect(
    dsn: str,
    database: str = "scrm",
    *,
    use_database: bool = False,
    settings: Mapping[str, Any] | None = None,
    timeout_s: float | None = None,
) -> AnalyticsClient:
    """Open ``dsn`` (``chdb:///data/dir`` or ``clickhouse://user:pass@host:8123``): a new client with its own
    session (on chDB its own connection handle to the process's one engine). ``use_database`` makes
    ``database`` (which must exist) the session's current one, so unqualified table names resolve in it;
    ``settings`` hold for every call of this client (on chDB set once on its handle, in order, so a last
    ``readonly=1`` locks the others; on a server sent with each request); ``timeout_s`` bounds how long a
    server call waits for its answer (chDB runs in-process: no transport). Blocks; raises the driver's errors
    when the server is unreachable or refuses a setting."""
    options: dict[str, Any] = {"database": database} if use_database else {}
    if settings:
        options["settings"] = dict(settings)
    if timeout_s is not None and not dsn.startswith("chdb:"):
        options["send_receive_timeout"] = timeout_s
    client = clickhouse_connect.get_client(dsn=dsn, **options)
    return AnalyticsClient(client, database)


def chdb_dsn(path: Path) -> str:
    """The clickhouse-connect DSN of an in-process chDB store at ``path`` (made absolute)."""
    return f"chdb://{path.resolve()}"
