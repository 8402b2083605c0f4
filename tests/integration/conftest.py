"""Fixtures giving integration tests a real Kafka broker and a real PostgreSQL server.

Servers come from ``SCRM_KAFKA_BOOTSTRAP`` / ``SCRM_DATABASE_URL``, else testcontainers (when Docker
answers), else ``deploy/local/*.sh`` started into a pytest temp dir on free ports; see ``servers.py``.
A server is started at most once per session, only when a test asks for it, and stopped at session end.
With ``CI=true`` a missing server fails the test; elsewhere it skips with the reason.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NoReturn

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import servers  # noqa: E402  (plain helper module next to this file)

_startup_report: list[str] = []


def _announce(config: pytest.Config, line: str) -> None:
    """Write a line to the real terminal even while pytest captures output (CI logs show it)."""
    _startup_report.append(line)
    capture = config.pluginmanager.getplugin("capturemanager")
    if capture is None:
        print(line, file=sys.stderr)
        return
    with capture.global_and_fixture_disabled():
        sys.stderr.write(f"\n[integration] {line}\n")
        sys.stderr.flush()


def _unavailable(kind: str, reason: str) -> NoReturn:
    message = f"no {kind} server for integration tests: {reason}"
    if servers.is_ci():
        pytest.fail(message + "\n(CI=true: integration tests must run, so this is a failure, not a skip)",
                    pytrace=False)
    pytest.skip(message)


def _provide(
    kind: str, start: Callable[[Path], servers.Server], pytestconfig: pytest.Config,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[servers.Server]:
    _announce(pytestconfig, f"starting {kind} ...")
    try:
        server = start(tmp_path_factory.mktemp(f"{kind}-server"))
    except servers.ServerUnavailable as exc:
        reason = str(exc)
    else:
        reason = ""
    if reason:  # outside the except block, so the report is not a chained traceback
        _announce(pytestconfig, f"{kind} unavailable: {reason.splitlines()[0]}")
        _unavailable(kind, reason)
    _announce(pytestconfig, server.describe())
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def kafka_server(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[servers.Server]:
    yield from _provide("kafka", servers.start_kafka, pytestconfig, tmp_path_factory)


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_server: servers.Server) -> str:
    """``host:port`` of a real Kafka 3.9 broker, shared by the session. Create topics before use."""
    return kafka_server.address


@pytest.fixture
def create_topic(kafka_bootstrap: str) -> Callable[..., str]:
    """``create_topic(partitions=1, prefix="test")`` creates a uniquely named topic and returns its name.

    For fixed names use ``servers.create_topics(bootstrap, names, partitions)`` (idempotent).
    """

    def make(partitions: int = 1, prefix: str = "test") -> str:
        name = servers.unique_name(prefix)
        servers.create_topics(kafka_bootstrap, [name], partitions)
        return name

    return make


@pytest.fixture(scope="session")
def postgres_server(
    pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[servers.Server]:
    yield from _provide("postgres", servers.start_postgres, pytestconfig, tmp_path_factory)


@pytest.fixture(scope="session")
def database_url(postgres_server: servers.Server) -> str:
    """SQLAlchemy URL (``postgresql+psycopg://...``) of a database shared by the whole session."""
    return postgres_server.address


@pytest.fixture
def fresh_database_url(database_url: str) -> Iterator[str]:
    """SQLAlchemy URL of a new, empty database for this test only; dropped afterwards."""
    name = servers.unique_name("scrm_test")
    url = servers.create_database(database_url, name)
    try:
        yield url
    finally:
        servers.drop_database(database_url, name)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _startup_report:
        terminalreporter.section("integration servers")
        for line in _startup_report:
            terminalreporter.write_line(line)
