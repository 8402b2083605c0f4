from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def fast_enricher():  # type: ignore[no-untyped-def]
    from enrichment.config import EnrichmentConfig
    from enrichment.factory import build_enricher

    return build_enricher(EnrichmentConfig())
