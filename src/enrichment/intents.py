"""Intents, sarcasm and spam: multilingual pattern rules combined with the sentiment model's output.

There is no labelled intent or spam data in any package, so these are rules, evaluated on a small
self-made labelled set (tests/unit/enrichment/data/labelled_posts.jsonl); see docs/enrichment.md.
Pure functions; never raise on any text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from enrichment.contracts import Intent, Sentiment

_I = re.I
PATTERNS: Mapping[Intent, re.Pattern[str]] = {
    "complaint": re.compile(
        r"投诉|投訴|维权|維權|差评|差評|退款|退货|退貨|太差|太慢|坏了|壞了|打不通|不回|没人处理|報錯|报错|闪退|閃退|失望|"
        r"complain|refund|unacceptable|worst|not happy|hung up|won't answer|no package|crash|broken|terrible",
        _I),
    "purchase_intent": re.compile(
        r"想买|想買|哪里买|哪裡買|哪里可以买|哪裡可以買|怎么买|下单|入手|想换|想換|想要一|多少钱|多少錢|价格多少|價格多少|"
        r"求链接|哪里.*买|where (can|do) i (buy|get)|want to buy|how (much|to order)|take my money|buying one|"
        r"upgrad(e|ing) to|thinking (about|of) (buying|getting|upgrading)|i want to (buy|get|order)", _I),
    "recommendation_request": re.compile(
        r"求推荐|求推薦|推荐一下|推薦一下|有没有推荐|有沒有推薦|有什么推荐|有什麼推薦|推荐的|推薦的.{0,6}[?？吗嗎]|"
        r"值得买吗|值得買嗎|用过.*[?？吗嗎]|"
        r"recommend (me|a|any)|can (anyone|you) recommend|any recommendations|suggestions? for|any suggestions|"
        r"which .* should i|worth it\?", _I),
    "question": re.compile(
        r"[?？]|吗|嗎|怎么|怎麼|为什么|為什麼|请问|請問|多久|哪里|哪裡|什么时候|什麼時候|"
        r"^(how|what|when|where|why|is|are|does|do|can|could|any)\b|how do|how can|does anyone|is there", _I),
    "praise": re.compile(
        r"太好用|好评|好評|点赞|點讚|推荐！|推薦！|很满意|非常满意|超好|很好用|惊艳|驚艷|回购|回購|讚|赞|"
        r"love (it|this|my)|loving|amazing|best .* (ever|year|had)|highly recommend|well done|great job|"
        r"nailed it|super helpful|thanks|strongly recommend", _I),
    "churn_threat": re.compile(
        r"再也不买|再也不買|不会再买|不會再買|不会再来|不會再來|换别家|換別家|取消会员|取消會員|销户|銷戶|再也不用|"
        r"cancel(l?ing)? my|switch(ing)? to|never (buy|buying|shopping|using) .*again|never (buy|buying) from|"
        r"done with (you|this brand)", _I),
}
_SARCASM = re.compile(
    r"呵呵|真是太棒了|真棒啊|可真行|服了|\"好\"|“好”|好\"啊|oh great|just what i needed|yeah right|thanks a lot for nothing|"
    r"slow clap|love how .* (broke|crash|fail)|wow,? (just )?(great|amazing)", _I)
_URL = re.compile(r"https?://|www\.|\.(cc|biz|xyz|top)\b", _I)
_SPAM = re.compile(
    r"加微信|加v|加薇|加薇信|代购|刷单|兼职|日赚|免费领|免費領|私聊|点击链接|點擊連結|"
    r"click (here|the link)|free money|dm me|crypto giveaway|earn \$?\d+|follow for follow|free followers|"
    r"link in bio|work(ing)? from home|no experience needed", _I)


def intents(text: str, sentiment: Sentiment) -> tuple[Intent, ...]:
    """Intents the text expresses; complaint/praise also need the matching sentiment polarity."""
    found: list[Intent] = [intent for intent, pattern in PATTERNS.items() if pattern.search(text)]
    if "praise" in found and sentiment.label == "negative":
        found.remove("praise")
    if "complaint" in found and sentiment.label == "positive" and sentiment.confidence > 0.8:
        found.remove("complaint")
    if "churn_threat" in found and "complaint" not in found:
        found.insert(0, "complaint")
    if sentiment.label == "negative" and sentiment.confidence >= 0.85 and "complaint" not in found:
        found.insert(0, "complaint")
    return tuple(i for i in PATTERNS if i in found)


def sarcasm(text: str, sentiment: Sentiment, lexicon_score: float) -> bool:
    """Surface markers of sarcasm, or positive words in a text the model finds clearly negative."""
    if _SARCASM.search(text):
        return True
    return lexicon_score > 0.3 and sentiment.label == "negative" and sentiment.confidence >= 0.8


def spam_likelihood(text: str) -> float:
    """Heuristic 0..1: links, solicitation phrases, repeated characters, hashtag/mention flooding."""
    score = 0.35 * min(2, len(_URL.findall(text)))
    score += 0.5 if _SPAM.search(text) else 0.0
    if re.search(r"(.)\1{6,}", text) or re.search(r"[!！]{3,}", text):
        score += 0.15
    if len(re.findall(r"[#@]\w+", text)) >= 5:
        score += 0.3
    return round(min(1.0, score), 4)
