"""Builds the embedded platform (storage, enricher, runtime) from its settings. Composition root only."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from analytics.analyst import AnalystDoor, open_analyst_door
from enrichment.factory import build_enricher
from enrichment.protocols import Enricher
from ingest.connectors import BrandAccounts, load_brands
from streams.config import PipelineConfig
from streams.runtimes.embedded import EmbeddedRuntime
from streams.settings import EmbeddedSettings
from streams.storage import Storage, open_storage


@dataclass(frozen=True)
class EmbeddedPlatform:
    """Everything one embedded process runs: durable storage, the enricher, the runtime and (with analytics)
    the analyst door, whose chDB clients are its own, never the pipeline's."""

    storage: Storage
    enricher: Enricher
    runtime: EmbeddedRuntime
    analyst_door: AnalystDoor | None = None


@contextmanager
def embedded_platform(settings: EmbeddedSettings, *, with_analytics: bool = True) -> Iterator[EmbeddedPlatform]:
    """Open the data dir (creating it), load the enricher, build the runtime; close storage on exit."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    storage = open_storage(settings.database_url, settings.analytics_dsn if with_analytics else None)
    door = open_analyst_door(settings.analytics_dsn, settings.analyst) if storage.analytics else None
    try:
        enricher = build_enricher(settings.enrichment)
        pipeline = with_brands(settings.pipeline, brands_of(settings.connectors_file))
        runtime = EmbeddedRuntime(config=pipeline, enricher=enricher, storage=storage,
                                  privacy=settings.privacy_key())
        yield EmbeddedPlatform(storage=storage, enricher=enricher, runtime=runtime, analyst_door=door)
    finally:
        if door is not None:
            door.close()
        storage.close()


@contextmanager
def open_state(settings: EmbeddedSettings) -> Iterator[Storage]:
    """Open only the SQL state of a data dir (for read-only commands; chDB stays closed)."""
    storage = open_storage(settings.database_url, None)
    try:
        yield storage
    finally:
        storage.close()


def embedded_settings(data_dir: Path | None) -> EmbeddedSettings:
    """Settings from the environment, with ``--data-dir`` taking precedence when given."""
    return EmbeddedSettings(data_dir=data_dir) if data_dir else EmbeddedSettings()


def brands_of(connectors_file: Path | None) -> dict[str, BrandAccounts]:
    """The ``[brands.<brand>]`` tables of the connectors file (none without one); raises
    ``ConnectorsFileError``."""
    return load_brands(connectors_file) if connectors_file else {}


def with_brands(pipeline: PipelineConfig, brands: Mapping[str, BrandAccounts]) -> PipelineConfig:
    """The pipeline config with every brand's own accounts known to the detectors."""
    if not brands:
        return pipeline
    alerts = pipeline.alerts.with_brand_accounts(
        [key for b in brands.values() for key in b.accounts], [h for b in brands.values() for h in b.handles])
    return pipeline.model_copy(update={"alerts": alerts})
