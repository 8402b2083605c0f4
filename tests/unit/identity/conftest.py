"""Fixtures of the identity tests: an embedded runtime on the test's SQLite store (``storage``, shared)."""

from __future__ import annotations

import pytest

from enrichment.lexicon import LexiconEnricher
from streams.config import PipelineConfig
from streams.runtimes.embedded import EmbeddedRuntime
from streams.storage import Storage


@pytest.fixture
def runtime(storage: Storage) -> EmbeddedRuntime:
    return EmbeddedRuntime(config=PipelineConfig(), enricher=LexiconEnricher(), storage=storage)
