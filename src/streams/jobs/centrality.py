"""Network centrality job: PageRank over the reply / comment / share / mention graph, written back as a
percentile into each customer's influence.

Edges stream from the database in chunks into int32 index arrays; only customers that appear in the
graph get an index (a dict of their ids), and profiles are updated in chunks, so memory is bounded by the
graph, never by loading every profile.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from profile_store.pagerank import pagerank, percentiles
from profile_store.repository import iter_resolved_edges, load_profiles, save_centrality, save_profiles
from streams.steps.profile import with_centrality

WRITE_CHUNK = 5_000


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
    Safe to run beside the pipeline: each chunk of profiles is updated in its own short transaction."""
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
        with session_factory() as session, session.begin():
            save_centrality(rows, now, session=session)
            profiles = load_profiles(chunk, session=session)
            save_profiles(
                [with_centrality(profiles[cid], percentile) for cid, _, percentile in rows if cid in profiles],
                session=session,
            )
    return CentralityRun(
        nodes=len(index), edges=len(sources), load_seconds=round(loaded - started, 3),
        rank_seconds=round(ranked - loaded, 3), write_seconds=round(time.perf_counter() - ranked, 3),
    )
