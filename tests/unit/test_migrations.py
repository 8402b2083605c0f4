"""The migrations build exactly the schema the SQLAlchemy models declare."""

from __future__ import annotations

from streams.storage import open_storage
from streams.storage_schema import schema_drift


def test_a_migrated_database_has_every_table_column_and_index_the_models_declare_and_no_other(sqlite_url):
    storage = open_storage(sqlite_url, None)
    try:
        assert schema_drift(storage.engine) == []
    finally:
        storage.close()
