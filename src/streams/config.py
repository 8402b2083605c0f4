"""Knobs of the pipeline steps, shared by both runtimes' settings."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from alerts.config import AlertingConfig
from streams.loop import FailurePolicy
from streams.steps.deadletter_limit import DeadLetterLimits
from streams.steps.retention import RetentionPolicy


class PipelineConfig(BaseModel):
    """Batching, the dead-letter guard, the failure policy and detector thresholds (``alerts``: every detector's frozen config,
    e.g. ``SCRM_PIPELINE__ALERTS__SPIKE__WINDOW_MINUTES=5``)."""

    model_config = ConfigDict(frozen=True)

    batch_size: int = Field(
        default=3000, ge=1, le=10_000,
        description="most events per batch: a lane takes what is waiting (up to this many), so only a backlog "
        "fills it; big batches amortise the per-batch database work (benchmarks/bench_apply.py: applying "
        "costs 0.89 ms of wall time per event in batches of 200, 0.68 in 1,000, 0.56 in 3,000)",
    )
    batch_max_ms: int = Field(
        default=200, ge=0, le=60_000,
        description="a lane starts a batch at most this often: records arriving meanwhile join the next one, "
        "which amortises the per-batch work (the enrich lane's ~12 ms of CPU per batch); a lane whose batch took "
        "longer takes what is waiting at once, and an idle lane takes a record as soon as it arrives",
    )
    profile_cache_size: int = Field(
        default=10_000, ge=1,
        description="parsed profiles an applier keeps between batches (LRU; each used only while its stored "
        "JSON is unchanged): spares validating a customer's profile again for every batch it appears in. "
        "~14 KiB each for ~2 KB of profile JSON (measured with tracemalloc), so ~140 MiB by default",
    )
    dead_letters: DeadLetterLimits = Field(
        default_factory=DeadLetterLimits,
        description="the per-partition dead-letter guard (e.g. SCRM_PIPELINE__DEAD_LETTERS__MAX_CONSECUTIVE=200)",
    )
    failures: FailurePolicy = Field(
        default_factory=FailurePolicy,
        description="retries of failing batches (e.g. SCRM_PIPELINE__FAILURES__TRANSIENT_ATTEMPTS=20)",
    )
    jobs_interval_seconds: float = Field(default=300.0, gt=0, description="centrality and suggestion refresh")
    segment_sweep_seconds: float = Field(
        default=600.0, gt=0, description="how often every segment is re-evaluated for windows that close with time "
        "alone (scrm serve; on Kafka, the worker owning the identity partition), e.g. SCRM_PIPELINE__SEGMENT_SWEEP_SECONDS",
      )
    analytics_sync_seconds: float = Field(
        default=10.0, gt=0,
        description="how often incidents, alerts, segment changes and connector health are copied to ClickHouse",
    )
    stall_seconds: float = Field(
        default=60.0, gt=0,
        description="readiness (/readyz) fails when a lane has records waiting and finished no batch for this long",
    )
    suggestion_min_score: float = Field(default=0.5, ge=0.0, le=1.0)
    suggestion_auto_merge_threshold: float | None = Field(
        default=None, ge=0.0, le=1.0, description="auto-accept suggestions at or above this score; off when unset"
    )
    alerts: AlertingConfig = AlertingConfig()
    retention: RetentionPolicy = Field(
        default_factory=RetentionPolicy,
        description="how long stored personal data is kept (docs/operations.md, Retention), e.g. "
        "SCRM_PIPELINE__RETENTION__RAW_TEXT_DAYS=90",
    )
    retention_interval_seconds: float = Field(
        default=3600.0, gt=0,
        description="how often the retention job runs (the first pass at start; scrm serve, and on Kafka the "
        "worker owning the identity partition), e.g. SCRM_PIPELINE__RETENTION_INTERVAL_SECONDS",
    )
