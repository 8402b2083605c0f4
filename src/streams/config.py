"""Knobs of the pipeline steps, shared by both runtimes' settings."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from alerts.detectors import NegativePostConfig


class PipelineConfig(BaseModel):
    """Batching, dead-letter limits and detector thresholds."""

    model_config = ConfigDict(frozen=True)

    batch_size: int = Field(default=256, ge=1, le=10_000)
    batch_max_ms: int = Field(default=200, ge=1, le=60_000)
    dead_letter_max_ratio: float = Field(default=0.5, gt=0.0, le=1.0)
    dead_letter_window: int = Field(default=1000, ge=10)
    negative_post: NegativePostConfig = NegativePostConfig()
