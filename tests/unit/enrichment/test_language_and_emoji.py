"""Language by words, not letters: Chinese naming Latin-letter brands and products is Chinese; ``mixed`` is for
bilingual text. Emoji-only text gets its emoji's sentiment from both enrichers."""

from __future__ import annotations

import itertools

import pytest

from enrichment.emoji import emoji_sentiment
from enrichment.factory import build_enricher
from enrichment.language import detect_language
from enrichment.lexicon import LexiconEnricher
from ingest.simulator import SimulatorConfig, simulate_events


@pytest.mark.parametrize(("text", "language"), [
    ("ACME X9 Pro Max 真的好用", "zh-Hans"),
    ("新款iPhone 15 Pro的颜色好看，已下单", "zh-Hans"),
    ("这个 feature 真的很 useful，但是 price 太贵", "zh-Hans"),
    ("售後服務很好，iPhone 換新很快", "zh-Hant"),
    ("用了一个月了，没什么问题", "zh-Hans"),
    ("This product is amazing 这个产品太好了", "mixed"),
    ("今天去 Apple Store 买了 AirPods Pro, so happy!", "zh-Hans"),
    ("The battery is great 但是屏幕太暗了", "mixed"),
    ("求 link！Acme T1 电动牙刷 哪里有 discount？", "zh-Hans"),
    ("I love my new 小米 phone, the camera is great", "en"),
    ("Great, my phone died again after the update. Love it.", "en"),
    ("👍👍❤️", "other"),
    ("こんにちは", "other"),
])
def test_language_counts_words(text: str, language: str) -> None:
    assert detect_language(text) == language


def test_simulated_chinese_posts_naming_brands_are_chinese() -> None:
    """The simulator's zh posts name Latin-letter brands and products; a few mix in English words on purpose."""
    events = itertools.islice(simulate_events(SimulatorConfig(seed=3)), 3000)
    zh = [e.text for e in events if e.text and e.lang == "zh-Hans"]
    assert len(zh) > 300
    judged = [detect_language(text) for text in zh]
    assert judged.count("zh-Hans") / len(judged) >= 0.95, {k: judged.count(k) for k in set(judged)}


@pytest.mark.parametrize(("text", "label"), [
    ("👍👍❤️", "positive"), ("😡😡", "negative"), ("💔", "negative"), ("🎉🎉🎉!!", "positive"),
    ("👍🏻", "positive"), ("❤️‍🔥", "positive"), ("👍👎", "neutral"),
])
def test_emoji_only_text_gets_the_emojis_sentiment(text: str, label: str) -> None:
    found = emoji_sentiment(text)
    assert found is not None and found.label == label
    assert build_enricher().enrich([text])[0].sentiment.label == label
    assert LexiconEnricher().enrich([text])[0].sentiment.label == label


@pytest.mark.parametrize("text", ["👍 but it broke", "好评👍", "🔥🔥", "😂😂", "..."])
def test_text_with_words_or_only_ambiguous_emoji_is_left_to_the_model(text: str) -> None:
    assert emoji_sentiment(text) is None
