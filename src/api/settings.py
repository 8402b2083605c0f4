"""Settings of the API deployable (``scrm api``), from ``SCRM_*`` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from analytics.analyst import AnalystDoorConfig
from api.auth import ROLES, Role
from api.ratelimit import RateLimits
from enrichment.config import EnrichmentConfig
from ingest.kafka_connection import KafkaConnection


class ApiSettings(BaseSettings):
    """``api_keys`` is ``key:role,key:role`` with roles agent, marketer, analyst, ingest, admin."""

    model_config = SettingsConfigDict(env_prefix="SCRM_", env_nested_delimiter="__", frozen=True, extra="ignore",
                          hide_input_in_errors=True)

    database_url: str = "postgresql+psycopg://postgres@127.0.0.1:55432/scrm"
    kafka_bootstrap: str = Field(default="127.0.0.1:9092", description="where identity link changes are published")
    kafka: KafkaConnection = Field(default_factory=KafkaConnection,
                                   description="security of the Kafka clients (SCRM_KAFKA__*)")
    clickhouse_dsn: str | None = None
    api_keys: SecretStr = Field(default=SecretStr(""),
                                description="bootstrap keys: comma-separated key:role pairs (hashed, never logged)")
    privacy_secret: SecretStr = Field(
        default=SecretStr(""), description="the deployment's secret for the erasure suppression list (the workers' "
        "SCRM_PRIVACY_SECRET); unset: DELETE /v1/customers/{id} answers 503")
    ticket_secret: SecretStr | None = Field(
        default=None, description="signs stream tickets; set the same on every API process behind one address")
    rate_limits: RateLimits = Field(default_factory=RateLimits, description="per-key allowances (SCRM_RATE_LIMITS__*)")
    connectors_file: Path | None = Field(default=None, description="webhook connectors TOML (docs/connectors.md)")
    host: str = "127.0.0.1"
    port: int = 8000
    enrichment: EnrichmentConfig = EnrichmentConfig()
    analyst: AnalystDoorConfig = AnalystDoorConfig()

    def parsed_api_keys(self) -> dict[str, Role]:
        """The key -> role map; raises ``ValueError`` on an unknown role or a malformed pair."""
        return parse_api_keys(self.api_keys.get_secret_value())


def parse_api_keys(spec: str) -> dict[str, Role]:
    """Parse ``key:role,key:role``."""
    keys: dict[str, Role] = {}
    for pair in filter(None, (part.strip() for part in spec.split(","))):
        key, _, role = pair.rpartition(":")
        if not key or role not in ROLES:
            raise ValueError(f"bad API key entry {pair!r}: expected key:role with role {'|'.join(ROLES)}")
        keys[key] = role  # type: ignore[assignment]
    return keys
