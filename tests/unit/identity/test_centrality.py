"""PageRank against networkx, and the centrality job feeding influence."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pytest

from enrichment.lexicon import LexiconEnricher
from profile_store.contracts import LinkSignal, Provenance
from profile_store.identity_graph import make_link, new_customer_id
from profile_store.pagerank import pagerank, percentiles
from profile_store.repository import centrality_of, find_profile_by_identity, get_profile, load_profiles
from streams.config import PipelineConfig
from streams.jobs import centrality
from streams.jobs.centrality import recompute_centrality
from streams.runtimes.embedded import EmbeddedRuntime
from streams.storage import Storage, open_storage


def test_pagerank_matches_networkx_on_a_random_graph() -> None:
    rng = np.random.default_rng(3)
    sources = rng.integers(0, 200, 1500).astype(np.int32)
    targets = rng.integers(0, 230, 1500).astype(np.int32)
    ours = pagerank(sources, targets, 230, tolerance=1e-12, max_iterations=500)
    graph = nx.MultiDiGraph()
    graph.add_nodes_from(range(230))
    graph.add_edges_from(zip(sources.tolist(), targets.tolist(), strict=True))
    reference = nx.pagerank(nx.DiGraph(_weighted(graph)), tol=1e-12, max_iter=500, weight="weight")
    assert np.allclose(ours, [reference[i] for i in range(230)], atol=1e-6)
    assert percentiles(np.array([0.1, 0.3, 0.3, 0.6])).tolist() == [25.0, 75.0, 75.0, 100.0]


def _weighted(graph: nx.MultiDiGraph) -> nx.DiGraph:
    simple = nx.DiGraph()
    simple.add_nodes_from(graph.nodes)
    for u, v in graph.edges():
        simple.add_edge(u, v, weight=simple.get_edge_data(u, v, {"weight": 0})["weight"] + 1)
    return simple


def test_the_most_replied_to_author_gains_centrality_and_influence(tmp_path: Path) -> None:
    storage = open_storage(f"sqlite:///{tmp_path}/c.db", None)
    runtime = EmbeddedRuntime(config=PipelineConfig(), enricher=LexiconEnricher(), storage=storage)
    start = datetime(2026, 11, 1, tzinfo=UTC)

    def publish(author: str, n: int, **extra: object) -> None:
        at = start + timedelta(minutes=n)
        runtime.publish(json.dumps({
            "event_id": f"e{n}", "platform": "weibo", "kind": extra.pop("kind", "post"), "occurred_at": at.isoformat(),
            "received_at": at.isoformat(), "author": {"id": author, "handle": author, "followers": 10},
            "brand": "acme", "text": "hello", "source": "t", **extra,
        }).encode())

    publish("hub", 0)
    for n, fan in enumerate(["a", "b", "c", "d"], start=1):
        publish(fan, n, kind="reply", parent_id="e0")
    publish("a", 10, text="@hub thanks")
    runtime.drain()
    with storage.session_factory() as session:
        before = find_profile_by_identity("weibo:hub", session=session)
    run = recompute_centrality(storage.session_factory)
    with storage.session_factory() as session:
        hub = find_profile_by_identity("weibo:hub", session=session)
        fan = find_profile_by_identity("weibo:b", session=session)
    assert run.nodes == 5 and run.edges == 5
    assert before is not None and hub is not None and fan is not None
    assert hub.influence_components.centrality == pytest.approx(100.0)
    assert hub.influence_components.centrality > fan.influence_components.centrality
    assert hub.influence > before.influence
    storage.close()


def test_what_happens_between_ranking_and_writing_is_kept_and_a_merged_away_customer_stays_merged(
    storage: Storage, runtime: EmbeddedRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job ranks a snapshot, then writes: it must write the profiles as they are then (an event
    folded, a fan merged into the hub), never its own earlier copy, nor recreate the merged-away one."""
    start = datetime(2026, 11, 1, tzinfo=UTC)

    def publish(author: str, n: int, **extra: object) -> None:
        at = start + timedelta(minutes=n)
        runtime.publish(json.dumps({
            "event_id": f"{author}{n}", "platform": "weibo", "kind": extra.pop("kind", "post"),
            "occurred_at": at.isoformat(), "received_at": at.isoformat(),
            "author": {"id": author, "handle": author, "followers": 10}, "brand": "acme", "text": "hello",
            "source": "t", **extra,
        }).encode())
        runtime.drain()

    publish("hub", 0)
    for n, fan in enumerate("abc", start=1):
        publish(fan, n, kind="reply", parent_id="hub0")
    link = make_link("weibo:hub", "weibo:a", Provenance(source="reviewer", actor="t"), start)
    real_pagerank = centrality.pagerank

    def rank_then_change(*args: Any, **kwargs: Any) -> np.ndarray:
        ranks = real_pagerank(*args, **kwargs)
        publish("hub", 30)
        runtime.submit_links([LinkSignal(op="link", link=link, at=start)])
        runtime.drain()
        return ranks

    monkeypatch.setattr(centrality, "pagerank", rank_then_change)
    recompute_centrality(storage.session_factory)

    hub, fan = new_customer_id("weibo:hub"), new_customer_id("weibo:a")
    with storage.session_factory() as session:
        assert load_profiles([fan], session=session) == {}
        merged = get_profile(fan, session=session)
        percentile = centrality_of([hub], session=session)[hub]
    assert merged is not None and merged.customer_id == hub
    assert merged.event_count == 3 and merged.last_seen == start + timedelta(minutes=30)
    assert merged.influence_components.centrality == percentile == pytest.approx(100.0)
