"""Text banks by language and intent, the product names and prices they mention, and ``template_intent``.

Banks are indexed by language (``HANS``, ``HANT``, ``EN``, in ``LANGS`` order) and map an intent (one of
``INTENTS`` or ``"official"``) to its templates; ``PRODUCTS`` and ``PRICES`` are index-aligned across
languages.
"""

from __future__ import annotations

import re

from ingest.simulator.templates_en import EN_TEMPLATES
from ingest.simulator.templates_zh import HANS_TEMPLATES, HANT_TEMPLATES

INTENTS: tuple[str, ...] = (
    "delivery",
    "quality",
    "price",
    "service",
    "praise",
    "purchase",
    "question",
    "churn",
    "promotion",
    "app_bug",
    "safety",
    "neutral",
)
"""Intents of the customer template banks (brand accounts' own posts use intent ``"official"``, their
answers to customers' questions ``"answer"``)."""

NEGATIVE_INTENTS: frozenset[str] = frozenset(
    {"delivery", "quality", "price", "service", "churn", "app_bug", "safety"}
)
"""Intents whose templates express a complaint or negative sentiment."""

HANS, HANT, EN = 0, 1, 2
LANGS = ("zh-Hans", "zh-Hant", "en")


def _parse_templates(text: str) -> dict[str, tuple[str, ...]]:
    bank: dict[str, list[str]] = {}
    for line in text.strip().splitlines():
        intent, template = line.split(" | ", 1)
        bank.setdefault(intent.strip(), []).append(template)
    return {intent: tuple(templates) for intent, templates in bank.items()}


TEMPLATES = tuple(_parse_templates(text) for text in (HANS_TEMPLATES, HANT_TEMPLATES, EN_TEMPLATES))
"""Per language (``LANGS`` order): intent -> templates with slots {brand} {product} {n} {days} {price}."""

# fmt: off
PRODUCTS = (  # index-aligned across the three languages
    ["X2 手机", "Air 耳机", "Pro 平板", "S3 手表", "M1 充电宝", "Mini 音箱", "R5 扫地机器人", "T1 电动牙刷"],
    ["X2 手機", "Air 耳機", "Pro 平板", "S3 手錶", "M1 行動電源", "Mini 音箱", "R5 掃地機器人", "T1 電動牙刷"],
    ["X2 phone", "Air earbuds", "Pro tablet", "S3 watch", "M1 power bank", "Mini speaker", "R5 robot vacuum",
     "T1 toothbrush"],
)
PRICES = (  # index-aligned across the three languages
    ["199", "299", "499", "899", "1299", "1999", "2999", "4999"],
    ["199", "299", "499", "899", "1299", "1999", "2999", "4999"],
    ["$49", "$99", "$129", "$199", "$299", "$499", "$799", "$999"],
)
# fmt: on
SHARE_TEXT = ("转发微博", "轉發微博", "")  # a bare repost on weibo carries this text


def _compile_patterns() -> tuple[tuple[str, re.Pattern[str], str], ...]:
    """(longest literal fragment, pattern, intent) per template; the fragment is a cheap pre-filter."""
    out: list[tuple[str, re.Pattern[str], str]] = []
    for bank in TEMPLATES:
        for intent, templates in bank.items():
            for template in templates:
                parts = re.split(r"\{[a-z]+\}", template)
                pattern = re.compile(".+?".join(re.escape(p) for p in parts), re.S)
                out.append((max(parts, key=len), pattern, intent))
    return tuple(out)


_PATTERNS = _compile_patterns()


def template_intent(text: str | None) -> str | None:
    """The intent of the simulator template ``text`` was filled from (one of ``INTENTS``, ``"official"`` or
    ``"answer"``).

    Mention prefixes and repost decorations are tolerated. Returns ``None`` for text no template produced
    (e.g. a bare "转发微博" repost). Pure; meant for tests and demos, not as a classifier.
    """
    if not text:
        return None
    for fragment, pattern, intent in _PATTERNS:
        if fragment in text and pattern.search(text):
            return intent
    return None
