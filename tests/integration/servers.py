"""Real Kafka and PostgreSQL servers for the integration tests.

A plain helper module (no pytest import) used by ``tests/integration/conftest.py``. Where a server comes
from, first match wins:

1. an address in the environment: ``SCRM_KAFKA_BOOTSTRAP`` / ``SCRM_DATABASE_URL``;
2. testcontainers, only when a Docker engine answers a ping within 2 s;
3. the project's launchers ``deploy/local/kafka.sh`` / ``deploy/local/postgres.sh``, started into a
   caller-given directory on free ports and stopped by the returned handle.

Every ``start_*`` function blocks until the server serves requests and raises :class:`ServerUnavailable`
(with the reason) when it cannot provide one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCAL_LAUNCHERS = REPO_ROOT / "deploy" / "local"

KAFKA_ENV = "SCRM_KAFKA_BOOTSTRAP"
DATABASE_ENV = "SCRM_DATABASE_URL"

# Confluent Platform 7.9 ships Apache Kafka 3.9, the line the project targets (4.x dropped old protocols).
KAFKA_IMAGE = "confluentinc/cp-kafka:7.9.0"
POSTGRES_IMAGE = "postgres:16"


class ServerUnavailable(RuntimeError):
    """No server of the requested kind could be provided; the message says why."""


@dataclass
class Server:
    """A running server: ``address`` is a Kafka bootstrap ``host:port`` or a SQLAlchemy URL."""

    kind: str
    address: str
    source: str
    startup_seconds: float
    _stop: Callable[[], None] = field(default=lambda: None, repr=False)

    def stop(self) -> None:
        """Stop the server if this process started it. Blocks until it is down; idempotent."""
        stop, self._stop = self._stop, lambda: None
        stop()

    def describe(self) -> str:
        address = _hide_password(self.address)
        return f"{self.kind} {address} from {self.source}, ready in {self.startup_seconds:.1f} s"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def is_ci() -> bool:
    """True on CI, where integration tests must fail rather than skip when a server is missing."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def docker_available() -> bool:
    """Whether a Docker engine answers within 2 s. Never raises."""
    try:
        import docker

        client = docker.from_env(timeout=2)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # noqa: BLE001 - no engine, no socket, no package: all mean "no Docker"
        return False


# --------------------------------------------------------------------------------------------- Kafka


def start_kafka(work_dir: Path) -> Server:
    """Provide a Kafka broker; local launcher state goes under ``work_dir``. Blocks until ready."""
    started = time.monotonic()
    env_bootstrap = os.environ.get(KAFKA_ENV, "").strip()
    if env_bootstrap:
        wait_for_kafka(env_bootstrap, timeout_s=30)
        return Server("kafka", env_bootstrap, f"${KAFKA_ENV}", time.monotonic() - started)
    return _container_or_launcher(_kafka_from_testcontainers, _kafka_from_launcher, work_dir, started)


def _kafka_from_testcontainers(started: float) -> Server:
    try:
        from testcontainers.community.kafka import KafkaContainer
    except ImportError:  # testcontainers < 4.14 kept modules at top level
        from testcontainers.kafka import KafkaContainer
    container = KafkaContainer(KAFKA_IMAGE).with_kraft()
    try:
        container.start(timeout=120)
    except Exception as exc:
        _quietly(container.stop)
        raise ServerUnavailable(f"Kafka testcontainer ({KAFKA_IMAGE}) did not start: {exc!r}") from exc
    bootstrap = container.get_bootstrap_server()
    wait_for_kafka(bootstrap, timeout_s=30)
    return Server("kafka", bootstrap, f"testcontainers {KAFKA_IMAGE}", time.monotonic() - started,
                  lambda: _quietly(container.stop))


def start_sasl_kafka(work_dir: Path, user: str, password: str) -> tuple[Server, str]:
    """A broker of our own (always the local launcher: a SASL listener needs its configuration) with a
    PLAINTEXT listener (the returned server's address) and a SASL_PLAINTEXT one (the returned bootstrap)
    accepting ``user`` / ``password`` over PLAIN and SCRAM-SHA-256. Blocks until ready."""
    sasl_port = free_port()
    server = _kafka_from_launcher(work_dir, time.monotonic(), {
        "KAFKA_SASL_PORT": str(sasl_port), "KAFKA_SASL_USER": user, "KAFKA_SASL_PASSWORD": password})
    return server, f"127.0.0.1:{sasl_port}"


def _kafka_from_launcher(work_dir: Path, started: float, extra_env: dict[str, str] | None = None) -> Server:
    script = LOCAL_LAUNCHERS / "kafka.sh"
    data_dir = work_dir / "kafka"
    port, controller_port = free_port(), free_port()
    while controller_port == port:
        controller_port = free_port()
    env = {
        **os.environ,
        "KAFKA_PORT": str(port),
        "KAFKA_CONTROLLER_PORT": str(controller_port),
        "KAFKA_DATA_DIR": str(data_dir),
        **(extra_env or {}),
    }
    out = _run_launcher(script, "start", env, timeout_s=600)
    bootstrap = out.strip().splitlines()[-1].strip()

    def stop() -> None:
        _run_launcher(script, "stop", env, timeout_s=120, check=False)

    try:
        wait_for_kafka(bootstrap, timeout_s=30)
    except ServerUnavailable:
        stop()
        raise
    return Server("kafka", bootstrap, f"deploy/local/kafka.sh ({data_dir})", time.monotonic() - started, stop)


def wait_for_kafka(bootstrap: str, *, timeout_s: float) -> None:
    """Block until the broker answers a metadata request; raises ServerUnavailable after ``timeout_s``."""
    from kafka import KafkaAdminClient

    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
            try:
                admin.list_topics()
                return
            finally:
                admin.close()
        except Exception as exc:  # noqa: BLE001 - retried until the deadline
            last = exc
            time.sleep(0.5)
    raise ServerUnavailable(f"Kafka at {bootstrap} did not answer within {timeout_s:.0f} s: {last!r}")


def create_topics(
    bootstrap: str, names: Iterable[str], partitions: int = 1, *, timeout_s: float = 30
) -> None:
    """Create topics (replication factor 1) and block until every partition has a leader.

    Idempotent: topics that already exist are left as they are (their partition count is not checked).
    """
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError

    topic_names = list(dict.fromkeys(names))
    if not topic_names:
        return
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=int(timeout_s * 1000))
    try:
        new = [NewTopic(name, num_partitions=partitions, replication_factor=1) for name in topic_names]
        # Errors are per topic: when one already exists, the others were still created.
        with contextlib.suppress(TopicAlreadyExistsError):
            admin.create_topics(new, timeout_ms=int(timeout_s * 1000))
        _wait_for_leaders(admin, topic_names, timeout_s)
    finally:
        admin.close()


def _wait_for_leaders(admin: object, topic_names: list[str], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    pending: list[str] = topic_names
    while True:
        try:
            described = {t["name"]: t for t in admin.describe_topics(topic_names)}  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001 - metadata can lag right after creation
            described = {}
        pending = [name for name in topic_names if not _topic_ready(described.get(name))]
        if not pending:
            return
        if time.monotonic() >= deadline:
            raise ServerUnavailable(f"topics without leaders after {timeout_s:.0f} s: {pending}")
        time.sleep(0.1)


def _topic_ready(info: dict | None) -> bool:
    if not info or info.get("error_code", 0) != 0 or not info.get("partitions"):
        return False
    return all(p.get("error_code", 0) == 0 and p.get("leader", p.get("leader_id", -1)) >= 0
               for p in info["partitions"])


def unique_name(prefix: str) -> str:
    """A name no other test uses, e.g. for a topic or a database: ``<prefix>_<12 hex>``."""
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


# ---------------------------------------------------------------------------------------- PostgreSQL


def start_postgres(work_dir: Path) -> Server:
    """Provide a PostgreSQL server (SQLAlchemy URL, psycopg 3 driver). Blocks until it accepts queries."""
    started = time.monotonic()
    env_url = os.environ.get(DATABASE_ENV, "").strip()
    if env_url:
        wait_for_postgres(env_url, timeout_s=30)
        return Server("postgres", env_url, f"${DATABASE_ENV}", time.monotonic() - started)
    return _container_or_launcher(_postgres_from_testcontainers, _postgres_from_launcher, work_dir, started)


def _postgres_from_testcontainers(started: float) -> Server:
    try:
        from testcontainers.community.postgres import PostgresContainer
    except ImportError:  # testcontainers < 4.14
        from testcontainers.postgres import PostgresContainer
    container = PostgresContainer(POSTGRES_IMAGE, driver="psycopg")
    try:
        container.start()
    except Exception as exc:
        _quietly(container.stop)
        raise ServerUnavailable(
            f"PostgreSQL testcontainer ({POSTGRES_IMAGE}) did not start: {exc!r}"
        ) from exc
    url = container.get_connection_url()
    wait_for_postgres(url, timeout_s=30)
    return Server("postgres", url, f"testcontainers {POSTGRES_IMAGE}", time.monotonic() - started,
                  lambda: _quietly(container.stop))


def _postgres_from_launcher(work_dir: Path, started: float) -> Server:
    """The cluster lives in its own temporary directory, not under pytest's ``work_dir``: pytest resets its
    temp root to mode 0700 whenever another session starts, which would lock the ``postgres`` OS user out
    of a running cluster."""
    script = LOCAL_LAUNCHERS / "postgres.sh"
    data_dir = Path(tempfile.mkdtemp(prefix="scrm-test-postgres-"))
    data_dir.chmod(0o755)
    env = {**os.environ, "PGPORT": str(free_port()), "PG_DATA_DIR": str(data_dir)}
    out = _run_launcher(script, "start", env, timeout_s=900)  # may apt-get install postgresql first
    url = out.strip().splitlines()[-1].strip()

    def stop() -> None:
        _run_launcher(script, "stop", env, timeout_s=120, check=False)
        shutil.rmtree(data_dir, ignore_errors=True)

    try:
        wait_for_postgres(url, timeout_s=30)
    except ServerUnavailable:
        stop()
        raise
    return Server("postgres", url, f"deploy/local/postgres.sh ({data_dir})", time.monotonic() - started, stop)


def libpq_conninfo(sqlalchemy_url: str) -> str:
    """The libpq URL psycopg accepts for a SQLAlchemy URL (drops the ``+driver`` part)."""
    from sqlalchemy.engine import make_url

    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)


def wait_for_postgres(url: str, *, timeout_s: float) -> None:
    """Block until ``SELECT 1`` succeeds; raises ServerUnavailable after ``timeout_s``."""
    import psycopg

    conninfo = libpq_conninfo(url)
    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with psycopg.connect(conninfo, connect_timeout=5) as conn:
                conn.execute("SELECT 1")
                return
        except Exception as exc:  # noqa: BLE001 - retried until the deadline
            last = exc
            time.sleep(0.3)
    raise ServerUnavailable(
        f"PostgreSQL at {_hide_password(url)} did not answer within {timeout_s:.0f} s: {last!r}"
    )


def create_database(url: str, name: str) -> str:
    """Create database ``name`` on the server of ``url``; returns ``url`` pointing at it. Not idempotent."""
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    with psycopg.connect(libpq_conninfo(url), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def drop_database(url: str, name: str) -> None:
    """Drop database ``name`` (closing its open connections) on the server of ``url``. Idempotent."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(libpq_conninfo(url), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


# ------------------------------------------------------------------------------------------- helpers


def _container_or_launcher(
    from_container: Callable[[float], Server],
    from_launcher: Callable[[Path, float], Server],
    work_dir: Path,
    started: float,
) -> Server:
    """testcontainers when Docker answers, else (or when the container fails) the local launcher."""
    if not docker_available():
        return from_launcher(work_dir, started)
    try:
        return from_container(started)
    except ServerUnavailable as container_error:
        try:
            return from_launcher(work_dir, started)
        except ServerUnavailable as launcher_error:
            raise ServerUnavailable(f"{container_error}\nthen, without Docker: {launcher_error}") from None


def _run_launcher(script: Path, command: str, env: dict[str, str], *, timeout_s: float,
                  check: bool = True) -> str:
    """Run a deploy/local launcher and return its stdout (blocks).

    Raises ServerUnavailable, carrying the launcher's stderr, when it fails or times out.
    """
    bash = shutil.which("bash")
    if bash is None:
        raise ServerUnavailable("bash is needed to run the deploy/local launchers")
    try:
        proc = subprocess.run([bash, str(script), command], env=env, cwd=REPO_ROOT, capture_output=True,
                              text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as exc:
        raise ServerUnavailable(f"{script.name} {command} timed out after {timeout_s:.0f} s") from exc
    if check and (proc.returncode != 0 or not proc.stdout.strip()):
        raise ServerUnavailable(
            f"{script.name} {command} failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}"
        )
    return proc.stdout


def _hide_password(url: str) -> str:
    if "://" not in url:  # a Kafka bootstrap address
        return url
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        return "<url>"


def _quietly(fn: Callable[[], object]) -> None:
    with contextlib.suppress(Exception):  # best-effort clean-up
        fn()
