"""Settings of the alert dispatcher deployable (``scrm dispatch``), from ``SCRM_*`` variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from alerts.routing import RoutingConfig, load_routing


class DispatchSettings(BaseSettings):
    """``routing_file``: JSON of ``alerts.routing.RoutingConfig`` (channels, routes, SLAs, retries);
    without it incidents still escalate and reach the console's live stream, but no channel is called."""

    model_config = SettingsConfigDict(env_prefix="SCRM_", frozen=True, extra="ignore",
                          hide_input_in_errors=True)

    database_url: str = "postgresql+psycopg://postgres@127.0.0.1:55432/scrm"
    routing_file: Path | None = None
    idle_ms: float = Field(default=20.0, gt=0, description="poll interval when idle, on databases without notifications")
    listen_timeout_ms: float = Field(
        default=1000.0, gt=0, description="PostgreSQL: an idle dispatcher waits this long for a NOTIFY before polling"
    )
    escalate_every_seconds: float = Field(default=5.0, gt=0, description="how often open incidents are checked against SLAs")

    def routing(self) -> RoutingConfig:
        """The routing configuration; raises ``OSError`` / ``pydantic.ValidationError`` for a bad file."""
        return load_routing(self.routing_file) if self.routing_file else RoutingConfig()
