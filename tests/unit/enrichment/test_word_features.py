"""Word features (jieba / English tokens), NB weighting and offset calibration of the v3 sentiment head."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from enrichment import sentiment_model as sm
from enrichment.exceptions import EnrichmentError
from enrichment.factory import SHIPPED_DIR
from enrichment.sentiment_model import (
    LENGTH_BINS,
    N_FEATURES,
    WORD_FEATURES,
    WORD_SCHEME,
    LinearHead,
    length_bins,
    word_counts,
    word_ngrams,
    word_tokens,
)

pytest.importorskip("jieba")


def test_chinese_text_is_cut_into_jieba_words() -> None:
    tokens = word_tokens("这个耳机音质真不错，推荐！")
    assert "耳机" in tokens and "音质" in tokens
    assert all(len(t) <= 4 for t in tokens)  # words, not the whole sentence
    assert "耳机 音质" in word_ngrams("这个耳机音质真不错")  # bigrams of adjacent words


def test_english_tokens_are_lowercased_with_negation_scope_and_placeholders() -> None:
    tokens = word_tokens("@United I DON'T like this flight, it was fine :( http://t.co/x #fail")
    assert tokens[:2] == ["<user>", "i"]
    assert "neg_like" in tokens and "neg_flight" in tokens
    assert "fine" in tokens and "neg_fine" not in tokens  # the comma ended the negation
    assert ":(" in tokens and "<url>" in tokens and "#fail" in tokens


def test_traditional_and_simplified_share_no_tokens_only_after_conversion() -> None:
    from enrichment.chinese import to_simplified

    assert word_tokens(to_simplified("這款耳機音質很好")) == word_tokens("这款耳机音质很好")


def test_word_counts_hash_into_their_own_block() -> None:
    counts = word_counts(["质量太差了", "", "not good at all"])
    assert counts.shape == (3, WORD_FEATURES)
    assert counts[0].nnz > 0 and counts[1].nnz == 0 and counts[2].nnz > 0


def test_length_bins_mark_each_edge_reached() -> None:
    bins = length_bins(["a" * 15, "", "x" * 300])
    assert bins.shape == (3, len(LENGTH_BINS))
    assert bins[0].tolist() == [1, 0, 0, 0, 0, 0, 0, 0]
    assert bins[1].sum() == 0 and bins[2].sum() == len(LENGTH_BINS)


def test_shipped_head_uses_word_features_and_builds_them_at_inference() -> None:
    head = LinearHead.load(SHIPPED_DIR / "sentiment-fast-v1.npz")
    assert head.uses_words and head.meta["words"] == WORD_SCHEME and head.meta["version"] == "4"
    assert head.experts == ["zh_reviews", "en_tweets", "zh_news", "en_reviews", "social_posts"]
    dense = np.zeros((2, 64), np.float32)
    x = head.features(["用了两天就坏了，质量太差", "worst service ever"], dense)
    assert x.shape[1] == N_FEATURES + WORD_FEATURES + 64 + len(LENGTH_BINS) == head.weights.shape[0]
    word_block = x[:, N_FEATURES : N_FEATURES + WORD_FEATURES]
    assert word_block[0].nnz > 0 and word_block[1].nnz > 0
    assert np.allclose(np.asarray(word_block.multiply(word_block).sum(axis=1)).ravel(), 1.0, atol=1e-4)


def test_head_with_unknown_word_scheme_is_refused(tmp_path) -> None:
    head = LinearHead(weights=np.zeros((4, 3), np.float32), bias=np.zeros(3, np.float32),
                      idf=np.ones(4, np.float32), meta={"words": "word1-3:other"})
    head.save(tmp_path / "h.npz")
    with pytest.raises(EnrichmentError, match="retrain"):
        LinearHead.load(tmp_path / "h.npz")


def test_missing_jieba_raises_enrichment_error(monkeypatch) -> None:
    monkeypatch.setattr(sm, "_jieba_tokenizer", None)
    monkeypatch.setitem(sys.modules, "jieba", None)
    with pytest.raises(EnrichmentError, match="pip install jieba"):
        word_tokens("质量太差")


def test_nb_weighting_is_folded_into_the_expert_weights() -> None:
    from scipy import sparse

    from enrichment.training.train import ExpertRecipe, _fit_expert, nb_scale

    rng = np.random.default_rng(0)
    x = sparse.random(300, 50, density=0.2, random_state=1, format="csr", dtype=np.float32)
    y = rng.integers(0, 3, 300)
    x = sparse.hstack([x, sparse.csr_matrix(rng.normal(size=(300, 4)).astype(np.float32))], format="csr")
    weights, bias, model = _fit_expert(x, y, ExpertRecipe(c=5.0, nb=0.5), n_sparse=50)
    scale = nb_scale(x, y, 50, 0.5)
    assert np.all(scale[50:] == 1.0) and not np.allclose(scale[:50], 1.0)
    scaled = x @ sparse.diags(scale)
    assert np.allclose(np.asarray(x @ weights) + bias, model.decision_function(scaled), atol=1e-4)


def test_offsets_raise_accuracy_without_lowering_macro_f1_and_stay_zero_otherwise() -> None:
    from sklearn.metrics import accuracy_score, f1_score

    from enrichment.training.train import choose_offsets

    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, 2000)
    logits = np.eye(3)[y] * 2.0 + rng.normal(size=(2000, 3))
    perfect = np.eye(3)[y] * 5.0  # nothing to gain: ties go to the smallest offsets
    assert choose_offsets(perfect, y).tolist() == [0.0, 0.0, 0.0]
    biased = logits - np.array([0.0, 0.75, 0.0])  # neutral under-predicted
    off = choose_offsets(biased, y)
    before, after = biased.argmax(1), (biased + off).argmax(1)
    assert off[1] > 0
    assert accuracy_score(y, after) > accuracy_score(y, before)
    assert f1_score(y, after, average="macro") >= f1_score(y, before, average="macro")
