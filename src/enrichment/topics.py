"""Topics: a configurable brand taxonomy. Each topic has a name, a description, example posts and optional
keywords. A text gets a topic when it contains a keyword, or when its sentence embedding is close enough
(cosine >= threshold) to one of the topic's examples. Adding a topic is editing a JSON file: no training.

Topics file (``EnrichmentConfig.topics_file``): a JSON list of
``{"id": "...", "name": "...", "description": "...", "examples": ["...", ...], "keywords": ["...", ...]}``;
it replaces the defaults unless it contains ``{"extend_defaults": true}`` as an object form
``{"extend_defaults": true, "topics": [...]}``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from enrichment.exceptions import EnrichmentError
from enrichment.lexicon import DEFAULT_TOPIC_KEYWORDS


class TopicSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=64)
    name: str = ""
    description: str = ""
    examples: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()


_DEFAULT_TEXT: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "product_quality": ("Product quality", "the product breaks, is defective, works well or badly", (
        "用了一周就坏了", "质量很好做工精细", "the screen cracked after a week", "build quality is excellent")),
    "price": ("Price", "price, cost, value for money, too expensive or cheap", (
        "太贵了不值这个价", "性价比很高", "way too expensive for what it is", "great value for the money")),
    "delivery_logistics": ("Delivery / logistics", "shipping, courier, parcel, late or lost delivery", (
        "快递三天还没到", "物流很快第二天就收到", "my parcel is still not delivered", "package arrived damaged")),
    "customer_service": ("Customer service", "support staff, after-sales, refunds, hotline", (
        "客服一直不回复", "售后态度很好", "support never answered my email", "the agent was very helpful")),
    "promotion_campaign": ("Promotion / campaign", "sales, coupons, discounts, campaigns, events", (
        "双十一活动优惠券", "满减活动很划算", "is the discount code still valid", "black friday sale")),
    "app_website": ("App / website", "the app or website: login, crashes, checkout, pages", (
        "app一直闪退", "官网登录不了", "the app crashes on login", "checkout page shows an error")),
    "safety_recall": ("Safety / recall", "safety hazards, injuries, fire, poisoning, product recalls", (
        "充电时起火了", "吃了以后食物中毒", "the battery caught fire", "is there a recall for this")),
}
_EXTRA_KEYWORDS: dict[str, tuple[str, ...]] = {
    "product_quality": ("品质", "品質", "做工", "坏了", "壞了", "电池", "電池", "音质", "音質", "stitching", "defective",
                        "downhill", "耐用", "续航", "續航"),
    "price": ("价格", "價格", "贵", "貴", "性价比", "划算", "expensive", "price", "value for", "budget", "charged",
              "多少钱", "多少錢"),
    "delivery_logistics": ("快遞", "物流", "到货", "到貨", "送货", "送貨", "包裹", "送錯", "发货", "delivered", "parcel",
                           "tracking", "arrived"),
    "customer_service": ("客服", "售后", "售後", "退款", "保修", "support", "on hold", "hung up", "refund"),
    "promotion_campaign": ("优惠", "優惠", "活动", "活動", "折扣", "满减", "滿千", "sale", "promo", "discount"),
    "app_website": ("app", "闪退", "閃退", "登录", "登入", "网站", "網站", "官网", "页面", "website", "log in",
                    "password", "update", "checkout"),
    "safety_recall": ("召回", "起火", "冒烟", "冒煙", "安全", "中毒", "拉肚子", "recall", "caught fire", "hazard",
                      "got sick", "overheat"),
}


def default_topics() -> list[TopicSpec]:
    topics = []
    for topic_id, words in DEFAULT_TOPIC_KEYWORDS.items():
        name, description, examples = _DEFAULT_TEXT[topic_id]
        keywords = tuple(dict.fromkeys((*words, *_EXTRA_KEYWORDS.get(topic_id, ()))))
        topics.append(TopicSpec(id=topic_id, name=name, description=description, examples=examples,
                                keywords=keywords))
    return topics


def load_topics(path: Path | None) -> list[TopicSpec]:
    """The default taxonomy, or the topics in ``path``. Raises ``EnrichmentError`` on an unreadable file."""
    if path is None:
        return default_topics()
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        extend = isinstance(raw, dict) and bool(raw.get("extend_defaults"))
        items = raw["topics"] if isinstance(raw, dict) else raw
        custom = [TopicSpec.model_validate(item) for item in items]
    except (OSError, ValueError, KeyError, TypeError, ValidationError) as exc:
        raise EnrichmentError(f"topics file {path} is invalid: {exc}") from exc
    if not extend:
        return custom
    ids = {t.id for t in custom}
    return [t for t in default_topics() if t.id not in ids] + custom


@dataclass
class TopicMatcher:
    """Keyword + nearest-example topic assignment over pre-computed example embeddings."""

    topics: list[TopicSpec]
    example_vectors: list[np.ndarray]
    threshold: float
    _keywords: list[tuple[str, ...]] = field(default_factory=list)

    @classmethod
    def build(cls, topics: Sequence[TopicSpec], embed: object, threshold: float) -> TopicMatcher:
        """``embed`` maps a list of texts to L2-normalised rows (or is ``None``: keywords only)."""
        vectors = []
        for topic in topics:
            texts = [t for t in (*topic.examples, f"{topic.name} {topic.description}".strip()) if t]
            vectors.append(embed(texts) if embed is not None and texts else np.zeros((0, 1), np.float32))  # type: ignore[operator]
        matcher = cls(list(topics), vectors, threshold)
        matcher._keywords = [tuple(k.lower() for k in t.keywords) for t in topics]
        return matcher

    def match(self, texts: Sequence[str], vectors: np.ndarray | None) -> list[tuple[str, ...]]:
        out = []
        for row, text in enumerate(texts):
            lowered = (text or "").lower()
            found = []
            for index, topic in enumerate(self.topics):
                hit = any(k in lowered for k in self._keywords[index])
                examples = self.example_vectors[index]
                if not hit and vectors is not None and examples.shape[0] and examples.shape[1] == vectors.shape[1]:
                    hit = float((examples @ vectors[row]).max()) >= self.threshold
                if hit:
                    found.append(topic.id)
            out.append(tuple(found))
        return out
