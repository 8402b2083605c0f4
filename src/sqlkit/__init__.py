"""Dialect-aware SQL helpers shared by the stores (SQLite and PostgreSQL). Imports nothing of the
platform, so every package that owns tables may use it."""

from sqlkit.aging import RewritePage, count_older, delete_older, rewrite_documents
from sqlkit.json import JsonText, dump_json
from sqlkit.json_paths import JsonKind, json_array_has, json_object_has_key, json_present, json_value
from sqlkit.locks import LocksBusy, lock_keys, locked_transaction
from sqlkit.membership import any_of
from sqlkit.times import as_aware
from sqlkit.upsert import insert_new, upsert_rows

__all__ = [
    "JsonKind", "JsonText", "LocksBusy", "RewritePage", "any_of", "as_aware", "count_older", "delete_older", "dump_json",
    "insert_new", "json_array_has", "json_object_has_key", "json_present", "json_value", "lock_keys", "locked_transaction",
    "rewrite_documents", "upsert_rows",
]
