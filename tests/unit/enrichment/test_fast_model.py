from __future__ import annotations

import json
from pathlib import Path

import pytest

from enrichment.config import EnrichmentConfig
from enrichment.exceptions import EnrichmentError
from enrichment.factory import build_enricher
from enrichment.labelled_eval import evaluate_labelled

DATA = Path(__file__).parent / "data" / "labelled_posts.jsonl"


@pytest.mark.parametrize("text", [
    "用了两天就坏了，质量太差，我要退货",
    "快递太慢了，客服也不理人，太失望了",
    "用了兩天就壞了，品質太差，太失望了",
    "客服態度很差，再也不買了",
    "The delivery took two weeks and the box arrived crushed. Terrible.",
    "Worst customer support ever, nobody answers.",
])
def test_known_negative_texts_score_negative(fast_enricher, text: str) -> None:
    result = fast_enricher.enrich([text])[0]
    assert result.sentiment.label == "negative"
    assert result.sentiment.score < 0


@pytest.mark.parametrize("text", ["这个耳机音质真不错，推荐！", "這款耳機音質很好，非常滿意", "Absolutely love it, amazing!"])
def test_known_positive_texts_score_positive(fast_enricher, text: str) -> None:
    assert fast_enricher.enrich([text])[0].sentiment.label == "positive"


def test_batch_keeps_length_and_order_and_empty_text_is_neutral(fast_enricher) -> None:
    texts = ["Absolutely love it, amazing!", "", "用了两天就坏了，质量太差", "這款耳機很好", "ok"] * 7
    results = fast_enricher.enrich(texts)
    assert len(results) == len(texts)
    singles = [fast_enricher.enrich([t])[0] for t in texts[:5]]
    assert [r.sentiment for r in results[:5]] == [s.sentiment for s in singles]
    assert results[1].sentiment.label == "neutral"
    assert [r.language for r in results[:4]] == ["en", "other", "zh-Hans", "zh-Hant"]
    assert all(r.model == fast_enricher.stamp for r in results)


def test_factory_loads_once_per_config() -> None:
    assert build_enricher(EnrichmentConfig()) is build_enricher(EnrichmentConfig())


def test_missing_head_raises_enrichment_error(tmp_path: Path) -> None:
    with pytest.raises(EnrichmentError, match="scrm models train"):
        build_enricher(EnrichmentConfig(model="e5", heads_dir=tmp_path))


def test_custom_topic_from_examples_needs_no_retraining(tmp_path: Path) -> None:
    topics = tmp_path / "topics.json"
    topics.write_text(json.dumps({"extend_defaults": True, "topics": [{
        "id": "coffee_taste", "name": "Coffee taste", "description": "how the coffee tastes",
        "examples": ["咖啡太苦了", "this latte tastes burnt", "拿铁很香"], "keywords": ["咖啡", "latte", "espresso"],
    }]}), encoding="utf-8")
    enricher = build_enricher(EnrichmentConfig(topics_file=topics))
    hit, miss = enricher.enrich(["今天的咖啡味道怪怪的", "The app crashes on login"])
    assert "coffee_taste" in hit.topics
    assert "coffee_taste" not in miss.topics and "app_website" in miss.topics


def test_bad_topics_file_raises(tmp_path: Path) -> None:
    bad = tmp_path / "t.json"
    bad.write_text("[{\"name\": 1}]", encoding="utf-8")
    with pytest.raises(EnrichmentError):
        build_enricher(EnrichmentConfig(topics_file=bad))


def test_hand_labelled_set_quality_floor(fast_enricher) -> None:
    """Small (100 posts), self-made set: a regression floor, not a benchmark. It was written by the author
    of the old intent rules, to their conventions (no ``purchased``); the learned intents are scored on the
    712 posts of ``test_intents_learned``."""
    scores = evaluate_labelled(fast_enricher, DATA)
    assert scores["sentiment_accuracy"] >= 0.75
    assert scores["intents_micro_f1"] >= 0.7
    assert scores["topics_micro_f1"] >= 0.8
    assert scores["spam_recall"] >= 0.9 and scores["spam_precision"] >= 0.9


def test_spam_and_sarcasm_flags(fast_enricher) -> None:
    spam, sarcastic = fast_enricher.enrich(["加微信领取免费礼品，日赚500 http://t.cn/x", "Oh great, another update that breaks everything."])
    assert spam.spam >= 0.5
    assert sarcastic.sarcasm is True and sarcastic.sentiment.label == "negative"
