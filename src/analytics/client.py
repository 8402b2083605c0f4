"""ClickHouse clients: chDB in-process (``chdb:///path``) or a server (``clickhouse://...``), one code path.

A chDB data path can be opened by one process at a time, and a process can use only one path: the
embedded runtime opens it once and shares the client (guarded by a lock) between pipeline and API.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
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

    def insert(self, table: str, rows: Sequence[Sequence[Any]], column_names: Sequence[str]) -> None:
        with self._lock:
            self._client.insert(table, list(rows), column_names=list(column_names), database=self.database)

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


def connect(dsn: str, database: str = "scrm") -> AnalyticsClient:
    """Open ``dsn`` (``chdb:///data/dir`` or ``clickhouse://user:pass@host:8123``). Blocks; raises the
    driver's errors when the server is unreachable."""
    client = clickhouse_connect.get_client(dsn=dsn)
    return AnalyticsClient(client, database)


def chdb_dsn(path: Path) -> str:
    """The clickhouse-connect DSN of an in-process chDB store at ``path`` (made absolute)."""
    return f"chdb://{path.resolve()}"
