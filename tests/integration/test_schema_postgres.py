"""On PostgreSQL too, the migrations build exactly the schema the models declare."""

from __future__ import annotations

import pytest

from streams.storage import open_storage
from streams.storage_schema import schema_drift

pytestmark = pytest.mark.integration


def test_a_migrated_postgres_database_matches_the_models(fresh_database_url: str) -> None:
    storage = open_storage(fresh_database_url, None)
    try:
        assert schema_drift(storage.engine) == []
    finally:
        storage.close()
