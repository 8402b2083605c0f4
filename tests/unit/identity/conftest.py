"""Fixtures of the identity tests: a SQLite store in the test's temp dir and an embedded runtime on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from enrichment.lexicon import LexiconEnricher
from streams.config import PipelineConfig
from streams.runtimes.embedded import EmbeddedRuntime
from streams.storage import Storage, open_storage


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[Storage]:
    opened = open_storage(f"sqlite:///{tmp_path}/identity.db", None)
    yield opened
    opened.close()


@pytest.fixture
def runtime(storage: Storage) -> EmbeddedRuntime:
    return EmbeddedRuntime(config=PipelineConfig(), enricher=LexiconEnricher(), storage=storage)
