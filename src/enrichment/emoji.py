"""The sentiment of text made only of emoji (``👍👍❤️``, ``😡😡``): no word for a model to read, so the emoji
decide. Pure; a small table of emoji whose polarity is not in doubt on Chinese and Western platforms.

Ambiguous ones are left out on purpose: 🔥 (great, or a fire), 😂 / 🤣 (delight, or mockery), 🙏 (thanks, or
pleading), 😅, 💀 (laughing, on some platforms). Text with any letter or Han character is left to the model.
"""

from __future__ import annotations

import unicodedata

from enrichment.contracts import Sentiment

POSITIVE = frozenset("👍👏🙌💯🎉🥳😍🥰😘😊😀😃😄😁🙂☺😻💖💗💓💕💞💘❤♥🧡💛💚💙💜🤍🤩✨🌟⭐🆗👌💪🤗😇🎁🏆")
NEGATIVE = frozenset("👎😡🤬😠😤💢😞😔😟😩😫😭😢🥺😒🙄🤮🤢💩😾💔😰😨😱🤡😑😖😣⚠🚫❌")
_IGNORABLE = frozenset("\ufe0f\ufe0e\u200d")  # variation selectors and the zero-width joiner of emoji sequences


def emoji_sentiment(text: str) -> Sentiment | None:
    """The sentiment of ``text`` when it has no letters and at least one emoji of known polarity; ``None``
    otherwise (the model decides). Score = (positive - negative) / polar emoji; label by its sign."""
    positive = negative = 0
    for char in text:
        if char.isalpha() or char.isdigit():
            return None
        if char in _IGNORABLE or unicodedata.category(char).startswith("Sk"):  # skin-tone modifiers
            continue
        positive += char in POSITIVE
        negative += char in NEGATIVE
    polar = positive + negative
    if polar == 0:
        return None
    score = (positive - negative) / polar
    if score > 0:
        return Sentiment(label="positive", score=round(score, 4), confidence=round(0.5 + score / 2, 4))
    if score < 0:
        return Sentiment(label="negative", score=round(score, 4), confidence=round(0.5 - score / 2, 4))
    return Sentiment(label="neutral", score=0.0, confidence=0.5)
