"""Intents checked against sentiment, and spam.

Intents and sarcasm are learned (``enrichment.intent_model``); ``intents`` reconciles the head's labels
with the text's sentiment. Spam is still a heuristic (links, solicitation phrases, flooding). Pure
functions; never raise on any text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from enrichment.contracts import INTENTS, Intent, Sentiment

_I = re.I
_URL = re.compile(r"https?://|www\.|\.(cc|biz|xyz|top)\b", _I)
_SPAM = re.compile(
    r"加微信|加v|加薇|加薇信|代购|刷单|兼职|日赚|免费领|免費領|私聊|点击链接|點擊連結|"
    r"click (here|the link)|free money|dm me|crypto giveaway|earn \$?\d+|follow for follow|free followers|"
    r"link in bio|work(ing)? from home|no experience needed", _I)


def intents(learned: Sequence[str], sentiment: Sentiment) -> tuple[Intent, ...]:
    """The intents of a text from the intent head's ``learned`` labels, checked against its sentiment:
    praise needs a text that is not negative, a complaint one that is not confidently positive (a
    sarcastic text's sentiment is already turned negative), and a churn threat is a complaint too."""
    found = set(learned) & set(INTENTS)
    if "praise" in found and sentiment.label == "negative":
        found.discard("praise")
    if "complaint" in found and sentiment.label == "positive" and sentiment.confidence > 0.8:
        found.discard("complaint")
    if "churn_threat" in found:
        found.add("complaint")
    return tuple(i for i in INTENTS if i in found)


def spam_likelihood(text: str) -> float:
    """Heuristic 0..1: links, solicitation phrases, repeated characters, hashtag/mention flooding."""
    score = 0.35 * min(2, len(_URL.findall(text)))
    score += 0.5 if _SPAM.search(text) else 0.0
    if re.search(r"(.)\1{6,}", text) or re.search(r"[!！]{3,}", text):
        score += 0.15
    if len(re.findall(r"[#@]\w+", text)) >= 5:
        score += 0.3
    return round(min(1.0, score), 4)
