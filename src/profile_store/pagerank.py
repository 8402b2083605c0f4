"""PageRank over a sparse interaction graph. Pure numpy/scipy; memory is O(nodes + edges) in compact
arrays (int32 indices, float64 ranks), never Python objects per edge."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import sparse


def pagerank(
    sources: npt.NDArray[np.int32],
    targets: npt.NDArray[np.int32],
    nodes: int,
    *,
    damping: float = 0.85,
    tolerance: float = 1e-8,
    max_iterations: int = 100,
) -> npt.NDArray[np.float64]:
    """Ranks summing to 1 for nodes ``0..nodes-1`` given directed edges ``sources[i] -> targets[i]``
    (repeated edges add weight). Dangling nodes spread their rank uniformly. Power iteration until the
    L1 change is below ``tolerance``."""
    if nodes == 0:
        return np.zeros(0)
    weights = np.ones(len(sources), dtype=np.float64)
    matrix = sparse.csr_matrix((weights, (targets, sources)), shape=(nodes, nodes))
    out_degree = np.asarray(matrix.sum(axis=0)).ravel()
    dangling = out_degree == 0
    inverse = np.divide(1.0, out_degree, out=np.zeros_like(out_degree), where=~dangling)
    transition = matrix @ sparse.diags(inverse)
    ranks = np.full(nodes, 1.0 / nodes)
    for _ in range(max_iterations):
        spread = damping * ranks[dangling].sum() / nodes
        updated = damping * (transition @ ranks) + spread + (1.0 - damping) / nodes
        change = np.abs(updated - ranks).sum()
        ranks = updated
        if change < tolerance:
            break
    return ranks / ranks.sum()


def percentiles(ranks: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Each rank's percentile in 0-100 (ties share the higher percentile)."""
    if len(ranks) == 0:
        return np.zeros(0)
    order = np.sort(ranks)
    return 100.0 * np.searchsorted(order, ranks, side="right") / len(ranks)
