"""A transparent lexicon enricher: keyword polarity, keyword topics and intent patterns in Chinese and
English. Fast (tens of thousands of texts/s) and explainable, but shallow: it misses negation scope,
sarcasm and anything not in its lists. Kept as the fast path and as a fallback when no model is installed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from enrichment.contracts import Enrichment, Intent, ModelStamp, Sentiment, SentimentLabel
from enrichment.emoji import emoji_sentiment
from enrichment.language import detect_language

LEXICON_STAMP = ModelStamp(name="scrm-lexicon", version="1")

_POSITIVE = (
    "好用", "喜欢", "满意", "推荐", "赞", "棒", "不错", "好评", "超值", "惊喜", "感谢", "爱了", "优秀", "完美",
    "滿意", "喜歡", "推薦", "讚", "驚喜", "感謝",
    "love", "great", "awesome", "excellent", "amazing", "recommend", "happy", "perfect", "thanks", "thank you",
    "fantastic", "good", "nice", "best", "impressed",
)
_NEGATIVE = (
    "差", "垃圾", "失望", "投诉", "退货", "退款", "坑", "骗", "质量问题", "太慢", "坏了", "难用", "维权", "曝光",
    "恶心", "后悔", "糟糕", "卡顿", "故障", "不满", "假货", "食物中毒", "召回",
    "投訴", "退貨", "質量問題", "難用", "維權", "後悔", "假貨", "召回",
    "terrible", "awful", "worst", "broken", "refund", "scam", "disappointed", "hate", "bad", "slow", "never again",
    "lawsuit", "recall", "useless", "poor", "angry", "complaint", "defective",
)
_NEGATORS = ("不", "没", "沒", "別", "别", "not ", "no ", "never ", "n't ")

DEFAULT_TOPIC_KEYWORDS: Mapping[str, tuple[str, ...]] = {
    "product_quality": ("质量", "質量", "坏", "壞", "故障", "quality", "broken", "defect", "卡顿", "crash"),
    "price": ("价格", "價格", "贵", "貴", "便宜", "price", "expensive", "cheap", "cost", "优惠"),
    "delivery_logistics": ("快递", "物流", "发货", "發貨", "配送", "delivery", "shipping", "courier", "package"),
    "customer_service": ("客服", "售后", "售後", "服务", "服務", "support", "service", "agent", "customer care"),
    "promotion_campaign": ("活动", "活動", "优惠券", "双十一", "促销", "promo", "discount", "coupon", "campaign"),
    "app_website": ("app", "官网", "網站", "网站", "website", "login", "登录", "登錄", "页面", "bug"),
    "safety_recall": ("召回", "安全", "中毒", "起火", "爆炸", "recall", "safety", "fire", "poison", "injury"),
}

_INTENT_PATTERNS: Mapping[Intent, re.Pattern[str]] = {
    "complaint": re.compile(r"投诉|投訴|维权|維權|差评|差評|退款|退货|退貨|complain|refund|unacceptable|worst", re.I),
    "purchase_intent": re.compile(
        r"想买|想買|哪里买|哪裡買|怎么买|下单|入手|想换|想換|where (can|do) i buy|want to buy|how (much|to order)|"
        r"take my money|buying one", re.I),
    "recommendation_request": re.compile(
        r"求推荐|求推薦|推荐一下|有没有推荐|recommend (me|a|any)|any recommendations|suggestions? for|which .* should i",
        re.I),
    "question": re.compile(r"[?？]|吗|嗎|怎么|怎麼|为什么|為什麼|how do|how can|does anyone|is there", re.I),
    "praise": re.compile(r"太好用|好评|好評|点赞|點讚|love (it|this)|amazing|best .* ever|highly recommend", re.I),
    "churn_threat": re.compile(
        r"再也不买|再也不買|不会再买|换别家|換別家|取消会员|销户|cancel(ling)? my|switch(ing)? to|never (buy|buying) again",
        re.I),
}


class LexiconEnricher:
    """Keyword enricher. ``enrich`` is pure, thread-safe and never raises on any text."""

    def __init__(self, topic_keywords: Mapping[str, Sequence[str]] = DEFAULT_TOPIC_KEYWORDS) -> None:
        self._topics = {topic: tuple(word.lower() for word in words) for topic, words in topic_keywords.items()}

    @property
    def stamp(self) -> ModelStamp:
        return LEXICON_STAMP

    def enrich(self, texts: Sequence[str]) -> list[Enrichment]:
        return [self._enrich_one(text or "") for text in texts]

    def _enrich_one(self, text: str) -> Enrichment:
        lowered = text.lower()
        return Enrichment(
            sentiment=emoji_sentiment(text) or _sentiment(lowered),
            topics=tuple(topic for topic, words in self._topics.items() if any(w in lowered for w in words)),
            intents=tuple(intent for intent, pattern in _INTENT_PATTERNS.items() if pattern.search(text)),
            language=detect_language(text),
            spam=_spam_likelihood(lowered),
            model=LEXICON_STAMP,
        )


def _polarity_hits(text: str, words: Sequence[str]) -> tuple[int, int]:
    plain = negated = 0
    for word in words:
        start = text.find(word)
        while start != -1:
            window = text[max(0, start - 4) : start]
            if any(neg in window for neg in _NEGATORS):
                negated += 1
            else:
                plain += 1
            start = text.find(word, start + len(word))
    return plain, negated


def _sentiment(text: str) -> Sentiment:
    pos, pos_negated = _polarity_hits(text, _POSITIVE)
    neg, neg_negated = _polarity_hits(text, _NEGATIVE)
    positive, negative = pos + neg_negated, neg + pos_negated
    total = positive + negative
    if total == 0:
        return Sentiment(label="neutral", score=0.0, confidence=0.5)
    score = (positive - negative) / total
    label: SentimentLabel = "positive" if score > 0.2 else "negative" if score < -0.2 else "neutral"
    return Sentiment(label=label, score=round(score, 4), confidence=round(min(0.95, 0.5 + 0.15 * total), 4))


_URL = re.compile(r"https?://|www\.")
_SPAM_WORDS = re.compile(r"加微信|加v|加薇|代购|刷单|兼职|日赚|免费领|click here|free money|dm me|crypto giveaway", re.I)


def _spam_likelihood(text: str) -> float:
    score = 0.0
    score += 0.3 * min(2, len(_URL.findall(text)))
    score += 0.4 * min(1, len(_SPAM_WORDS.findall(text)))
    if re.search(r"(.)\1{6,}", text):
        score += 0.2
    return round(min(1.0, score), 4)
