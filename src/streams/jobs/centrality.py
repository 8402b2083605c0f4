"""Network centrality job: PageRank over the reply / comment / share / mention graph, written back as a
percentile into each customer's influence.

Edges stream from the database in chunks into int32 index arrays; only customers that appear in the
graph get an index (a dict of their ids), and profiles are updated in chunks, so memory is bounded by the
graph, never by loading every profile.

Every writer of a profile holds its customer's advisory lock (``lock_customers``) from before reading it
until it commits; so does this job: each chunk is one transaction that locks its customers, reads their
profiles under the locks and saves them with the new centrality. An event or merge committed before is in
what it reads; one arriving meanwhile waits for the chunk's commit and then reads the job's result, so
neither overwrites the other. Ranking itself reads a snapshot without locks: only its output is written.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from profile_store.pagerank import pagerank, percentiles
from profile_store.repository import (
    iter_resolved_edges,
    load_profiles,
    lock_customers,
    save_centrality,
    save_profiles,
)
from sqlkit import locked_transaction
from streams.steps.profile import with_centrality

WRITE_CHUNK = 1_000
"""Customers per write transaction. Their locks are held until it commits, so the chunk bounds how long an
applier of one of them waits and how many advisory locks the job holds at once (they share PostgreSQL's
lock table, ``max_locks_per_transaction`` x connections, with the appliers' own)."""


@dataclass(frozen=True)
class CentralityRun:
    """What a run did and how long each phase took (seconds)."""

    nodes: int
    edges: int
    load_seconds: float
    rank_seconds: float
    write_seconds: float


def recompute_centrality(session_factory: sessionmaker[Session], *, damping: float = 0.85) -> CentralityRun:
    """Blocks. Re-ranks every customer in the interaction graph and refreshes their profiles' influence.
    Safe to run beside the pipeline: each chunk of profiles is updated in its own short transaction,
    under the chunk's customers' locks (see the module docstring). Idempotent; raises on database errors
    (the chunks committed before stay written)."""
    started = time.perf_counter()
    index: dict[str, int] = {}
    source_chunks: list[np.ndarray] = []
    target_chunks: list[np.ndarray] = []
    with session_factory() as session:
        for pairs in iter_resolved_edges(session=session):
            sources = np.fromiter((index.setdefault(s, len(index)) for s, _ in pairs), dtype=np.int32, count=len(pairs))
            targets = np.fromiter((index.setdefault(t, len(index)) for _, t in pairs), dtype=np.int32, count=len(pairs))
            source_chunks.append(sources)
            target_chunks.append(targets)
    sources = np.concatenate(source_chunks) if source_chunks else np.zeros(0, dtype=np.int32)
    targets = np.concatenate(target_chunks) if target_chunks else np.zeros(0, dtype=np.int32)
    loaded = time.perf_counter()
    ranks = pagerank(sources, targets, len(index), damping=damping)
    scores = percentiles(ranks)
    ranked = time.perf_counter()
    customer_ids = list(index)
    now = datetime.now(UTC)
    for start in range(0, len(customer_ids), WRITE_CHUNK):
        chunk = customer_ids[start : start + WRITE_CHUNK]
        rows = [(cid, float(ranks[index[cid]]), round(float(scores[index[cid]]), 2)) for cid in chunk]
        locked_transaction(session_factory, partial(_write_chunk, rows, now))
    return CentralityRun(
        nodes=len(index), edges=len(sources), load_seconds=round(loaded - started, 3),
        rank_seconds=round(ranked - loaded, 3), write_seconds=round(time.perf_counter() - ranked, 3),
    )


def _write_chunk(rows: Sequence[tuple[str, float, float]], computed_at: datetime, session: Session) -> None:
    """Store ``(customer_id, pagerank, percentile)`` rows and give the customers' current profiles that
    centrality, in the caller's transaction. Locks the customers first, in the one round that waits, so
    it orders with the apply lane and the identity service like they do among themselves (sorted keys,
    no later round) and cannot deadlock with them. A customer without a profile now (merged away since
    the graph was read: its profile is deleted under the same locks) gets none; an unchanged profile is
    not rewritten."""
    customer_ids = [cid for cid, _, _ in rows]
    lock_customers(customer_ids, session=session)
    # the first write, before reading profiles: on SQLite (advisory locks are no-ops there) it takes the
    # database's single write lock, so the profiles cannot change between the read and the save either
    save_centrality(rows, computed_at, session=session)
    profiles = load_profiles(customer_ids, session=session)
    refreshed = [with_centrality(profiles[cid], percentile) for cid, _, percentile in rows if cid in profiles]
    save_profiles([p for p in refreshed if p != profiles[p.customer_id]], session=session)
