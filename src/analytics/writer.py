"""Batched writers into ClickHouse: events (idempotent on retries), profiles, identity changes.

Idempotency of ``write_events``, which matters because every rollup is a materialised view that counts what
is inserted (the ``ReplacingMergeTree`` under ``events`` collapses a duplicate row only for queries using
``FINAL`` and after merges; the rollups never see the collapse):

1. A batch inserts only event keys not stored yet: one primary-key lookup per batch
   (``(platform, event_key)`` is the table's sort key), and duplicates within the batch are dropped. A worker
   killed after its insert and before its commit re-processes the batch and inserts nothing; killed halfway
   through a multi-partition insert (a block per month), it inserts only the missing blocks' events.
2. The insert carries an ``insert_deduplication_token`` (a hash of the batch's event keys) and
   ``deduplicate_blocks_in_dependent_materialized_views=1``; every table keeps the tokens of its last 1000
   blocks (``non_replicated_deduplication_window``). Two writers racing with the same batch (a zombie worker
   during a rebalance) insert it once, rollups included.
3. Raw reads go through ``events_current`` (``events FINAL``), so even a duplicate that slipped past both
   (two racing writers with differently cut batches) is counted once there; only the rollups could then
   over-count those few events.
"""

from __future__ import annotations

import hashlib
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from analytics.client import AnalyticsClient
from analytics.schema.tables import (
    EVENT_COLUMNS,
    EVENTS_TABLE,
    IDENTITIES_TABLE,
    IDENTITY_COLUMNS,
    PROFILE_COLUMNS,
    PROFILES_TABLE,
    REDIRECT_COLUMNS,
    REDIRECTS_TABLE,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class EventRow:
    """One enriched event, flattened to the ``events`` table's columns (same order). ``sentiment_*`` are
    ``None`` for an event without text (a like, a follow): it states no opinion."""

    event_key: str
    event_id: str
    customer_id: str
    platform: str
    kind: str
    brand: str
    occurred_at: datetime
    author_id: str
    author_followers: int
    text: str
    language: str
    sentiment_label: str | None
    sentiment_score: float | None
    sentiment_confidence: float | None
    topics: list[str]
    intents: list[str]
    spam: float
    likes: int
    shares: int
    replies: int
    model_name: str
    model_version: str
    ingested_at: datetime


@dataclass(frozen=True, slots=True)
class ProfileRow:
    """One profile, flattened to the ``profiles`` table's columns (same order); ``version`` orders the
    writes of one customer (the newest wins), ``is_deleted`` marks a customer merged away."""

    customer_id: str
    version: int
    is_deleted: int
    display_name: str | None
    identities: list[str]
    first_seen: datetime
    last_seen: datetime
    event_count: int
    lifecycle: str
    followers: int
    verified: bool
    influence: float
    churn_risk: float
    sentiment_ewma: float
    positive: int
    neutral: int
    negative: int
    brands: dict[str, int]
    topics: dict[str, float]
    crm_id: str | None


_GETTERS: dict[type, Callable[[Any], tuple[Any, ...]]] = {}


def values(row: Any) -> tuple[Any, ...]:
    """A row dataclass's values in field order (its table's column order): shallow, unlike ``astuple``,
    which deep-copies every list and costs more than the insert."""
    kind = type(row)
    if kind not in _GETTERS:
        _GETTERS[kind] = operator.attrgetter(*kind.__slots__)
    return _GETTERS[kind](row)


def write_events(client: AnalyticsClient, rows: Sequence[EventRow]) -> int:
    """Insert the rows whose event key is not stored yet, in one batch; returns how many were inserted.
    Idempotent: writing the same rows again (or a batch overlapping stored ones) inserts nothing twice
    (see the module docstring). Blocks; raises the driver's errors (then the batch may be written again)."""
    return write_new_rows(client, EVENTS_TABLE, EVENT_COLUMNS, [values(row) for row in rows],
                          key=("platform", "event_key"))


def write_new_rows(
    client: AnalyticsClient, table: str, columns: Sequence[str], rows: Sequence[tuple[Any, ...]], *,
    key: Sequence[str],
) -> int:
    """Insert, in one block, the ``rows`` (tuples in ``columns`` order) whose ``key`` (column names: a
    prefix of the table's sort key, each a ``String`` or an integer) is not stored yet; of rows sharing a key
    within the batch, the last. Returns how many were inserted. The block carries an insert deduplication
    token (a hash of its keys) that materialised views honour, so two writers racing with the same rows
    insert them once. Idempotent; blocks; raises the driver's errors (then the rows may be written again)."""
    index = [list(columns).index(name) for name in key]
    latest = {tuple(row[i] for i in index): row for row in rows}
    if not latest:
        return 0
    stored = _stored_keys(client, table, key, list(latest))
    fresh = {k: row for k, row in latest.items() if k not in stored}
    if fresh:
        token = hashlib.sha256("\n".join(sorted("\x1f".join(map(str, k)) for k in fresh)).encode()).hexdigest()
        client.insert(
            table, list(fresh.values()), columns,
            settings={"insert_deduplication_token": token, "deduplicate_blocks_in_dependent_materialized_views": 1},
        )
    return len(fresh)


def _stored_keys(
    client: AnalyticsClient, table: str, key: Sequence[str], keys: Sequence[tuple[Any, ...]]
) -> set[tuple[Any, ...]]:
    """Which of ``keys`` the table holds: one lookup on the sort key (each column ``IN`` the set of its values)."""
    parameters = {f"k{n}": sorted({k[n] for k in keys}) for n in range(len(key))}
    where = " AND ".join(  # IN a subquery: a set the primary key is searched with (IN an array is a scan)
        f"{name} IN (SELECT arrayJoin({{k{n}:Array({'UInt64' if isinstance(keys[0][n], int) else 'String'})}}))"
        for n, name in enumerate(key)
    )
    _, found = client.query(f"SELECT DISTINCT {', '.join(key)} FROM {client.database}.{table} WHERE {where}",
                            parameters=parameters)
    return {tuple(row) for row in found}


def write_profiles(client: AnalyticsClient, rows: Sequence[ProfileRow], *, deleted: Iterable[str] = (),
                   version: int) -> None:
    """Insert profile rows and, for each ``deleted`` customer id, a deleted row at ``version``. Idempotent
    (rows replace by version; readers use ``FINAL``). Blocks."""
    tombstones = [ProfileRow(cid, version, 1, None, [], _EPOCH, _EPOCH, 0, "", 0, False, 0.0, 0.0, 0.0, 0, 0, 0, {},
                             {}, None) for cid in sorted(set(deleted))]
    all_rows = [*rows, *tombstones]
    if all_rows:
        client.insert(PROFILES_TABLE, [values(row) for row in all_rows], PROFILE_COLUMNS)


def write_identity_changes(
    client: AnalyticsClient, *, assignments: Mapping[str, str], redirects: Mapping[str, str | None], version: int
) -> None:
    """Record at ``version`` each identity's new customer (``assignments``) and each redirect (merged-away
    id -> survivor; ``None``: the id exists again, its redirect is deleted). Redirects stay flat like the
    identity store's: redirects to an id that is now merged away are re-pointed at its survivor.
    Idempotent; blocks."""
    if assignments:
        client.insert(IDENTITIES_TABLE, [(key, cid, version) for key, cid in sorted(assignments.items())],
                      IDENTITY_COLUMNS)
    moved = {old: new for old, new in redirects.items() if new is not None}
    rows = [(old, "", version, 1) for old, new in sorted(redirects.items()) if new is None]
    rows += [(old, new, version, 0) for old, new in sorted(moved.items())]
    if moved:
        _, chained = client.query(
            f"SELECT from_customer_id, to_customer_id FROM {client.database}.{REDIRECTS_TABLE} FINAL "
            "WHERE to_customer_id IN {ids:Array(String)}", parameters={"ids": sorted(moved)},
        )
        rows += [(source, moved[target], version, 0) for source, target in chained if source not in redirects]
    if rows:
        client.insert(REDIRECTS_TABLE, rows, REDIRECT_COLUMNS)
