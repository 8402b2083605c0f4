"""Settings of the stream deployables. Each is built once in its entry point (``scrm worker``,
``scrm run`` / ``scrm demo``) from ``SCRM_*`` environment variables and flags, then passed down."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from analytics.analyst import AnalystDoorConfig
from analytics.client import chdb_dsn
from enrichment.config import EnrichmentConfig
from ingest.kafka_connection import KafkaConnection
from profile_store.privacy import PrivacyKey, embedded_key
from streams.config import PipelineConfig
from streams.lanes import LaneName

_ENV = SettingsConfigDict(env_prefix="SCRM_", env_nested_delimiter="__", frozen=True, extra="ignore",
                          hide_input_in_errors=True)


class WorkerSettings(BaseSettings):
    """The Kafka runtime worker (``scrm worker``)."""

    model_config = _ENV

    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka: KafkaConnection = Field(default_factory=KafkaConnection,
                                   description="security and topic replication (SCRM_KAFKA__*)")
    database_url: str = "postgresql+psycopg://postgres@127.0.0.1:55432/scrm"
    clickhouse_dsn: str | None = Field(
        default=None, description="clickhouse://user:pass@host:8123 or chdb:///path; unset disables analytics"
    )
    app_id: str = "scrm-worker"
    partitions: int = Field(default=4, ge=1)
    producer_linger_ms: int = Field(
        default=5, ge=0, description="how long the producer waits to send a batch's messages in one request"
    )
    lanes: tuple[LaneName, ...] = Field(
        default=("enrich", "apply", "alert", "identity", "deadletter"), min_length=1,
        description="which consumer lanes this process runs: all by default; a deployment may run enrichment "
        "and application in separate processes so they do not share one interpreter lock",
    )
    metrics_port: int | None = Field(
        default=None, ge=0, le=65535,
        description="serve /metrics, /healthz and /readyz on this port (one per worker process); unset: off",
    )
    metrics_host: str = Field(default="127.0.0.1", description="bind address of the metrics port (0.0.0.0 in a container)")
    heartbeat_seconds: float = Field(
        default=5.0, gt=0, le=10.0,
        description="how often the lanes' counters are written to the database, for the API's /v1/status and /readyz",
    )
    consumer_session_timeout_ms: int = Field(
        default=10_000, ge=1_000,
        description="a worker silent this long (killed, partitioned off) loses its partitions to the others; "
        "heartbeats come from librdkafka's own thread, so a long batch does not count as silence",
    )
    connectors_file: Path | None = Field(
        default=None, description="connectors TOML: the worker reads its [brands.<brand>] accounts (docs/connectors.md)")
    privacy_secret: SecretStr = Field(
        default=SecretStr(""), description="the deployment's secret for the erasure suppression list's keyed "
        "hashes (docs/privacy.md); every worker, the API and scrm erase must share it; required by scrm worker")
    pipeline: PipelineConfig = PipelineConfig()
    enrichment: EnrichmentConfig = EnrichmentConfig()


class PollerSettings(BaseSettings):
    """The poll process of the Kafka runtime (``scrm poll --kafka``): the poll connectors of
    ``connectors_file`` publish to ``scrm.events.raw`` (acks=all) and keep cursors and health in
    ``database_url``. Run one per connectors file (two would poll each platform twice: no duplicate
    events, but twice the quota)."""

    model_config = _ENV

    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka: KafkaConnection = Field(default_factory=KafkaConnection,
                                   description="security and topic replication (SCRM_KAFKA__*)")
    database_url: str = "postgresql+psycopg://postgres@127.0.0.1:55432/scrm"
    connectors_file: Path | None = Field(default=None, description="connectors TOML (docs/connectors.md)")
    metrics_port: int | None = Field(
        default=None, ge=0, le=65535, description="serve /metrics, /healthz and /readyz on this port; unset: off")
    metrics_host: str = Field(default="127.0.0.1", description="bind address of the metrics port")


class EmbeddedSettings(BaseSettings):
    """The embedded runtime (``scrm run``, ``scrm demo``): one process, state in ``data_dir``; the demo
    also serves the API on ``host:port`` with ``api_keys`` (``key:role,...``; generated when empty), the
    webhook receivers of ``connectors_file`` (``scrm serve``, ``scrm demo``) and delivers alerts per
    ``routing_file``."""

    model_config = _ENV

    data_dir: Path = Path(".scrm")
    host: str = "127.0.0.1"
    port: int = 8000
    api_keys: SecretStr = SecretStr("")
    routing_file: Path | None = Field(default=None, description="alert routing JSON (see docs/alerts.md)")
    connectors_file: Path | None = Field(default=None, description="connectors TOML: webhooks and pollers (docs/connectors.md)")
    privacy_secret: SecretStr = Field(
        default=SecretStr(""), description="the secret of the erasure suppression list's keyed hashes; unset: "
        "generated once into data_dir/privacy.key (docs/privacy.md)")
    pipeline: PipelineConfig = PipelineConfig()
    enrichment: EnrichmentConfig = EnrichmentConfig()
    analyst: AnalystDoorConfig = AnalystDoorConfig()

    @property
    def database_url(self) -> str:
        return f"sqlite:///{(self.data_dir / 'scrm.sqlite').resolve()}"

    @property
    def analytics_dsn(self) -> str:
        return chdb_dsn(self.data_dir / "analytics")

    def privacy_key(self) -> PrivacyKey:
        """The configured secret, else the data dir's generated one (created on first use)."""
        return embedded_key(self.data_dir, self.privacy_secret.get_secret_value())
