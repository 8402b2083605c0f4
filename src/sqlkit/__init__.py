"""Dialect-aware SQL helpers shared by the stores (SQLite and PostgreSQL). Imports nothing of the
platform, so every package that owns tables may use it."""

from sqlkit.json import JsonText, dump_json
from sqlkit.upsert import lock_keys, upsert_rows

__all__ = ["JsonText", "dump_json", "lock_keys", "upsert_rows"]
