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
