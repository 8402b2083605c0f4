"""Dialect-aware SQL helpers shared by the stores (SQLite and PostgreSQL). Imports nothing of the
platform, so every package that owns tables may use it."""

from sqlkit.json import JsonText, dump_json
from sqlkit.locks import LocksBusy, lock_keys, locked_transaction
from sqlkit.membership import any_of
from sqlkit.upsert import insert_new, upsert_rows

__all__ = ["JsonText", "LocksBusy", "any_of", "dump_json", "insert_new", "lock_keys", "locked_transaction", "upsert_rows"]
