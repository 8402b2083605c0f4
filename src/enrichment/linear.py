"""``LinearEnricher``: the model-backed enricher (default ``fast``; also ``e5`` / ``transformers``).

Per batch: detect language, convert zh-Hant to Simplified (OpenCC), embed once, score sentiment with the
linear head (and, with a ``SecondStage``, re-score the short texts it is unsure of with e5: the cascade),
match topics against the same embeddings, intents and sarcasm with the intent head (both heads read the
same hashed n-gram counts, computed once), then the spam heuristic. Blocking,
deterministic, thread-safe after construction; returns one result per text in input order.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from enrichment.cascade import SecondStage
from enrichment.chinese import head_input
from enrichment.contracts import Enrichment, ModelStamp, Sentiment
from enrichment.embedders import Embedder
from enrichment.emoji import emoji_sentiment
from enrichment.intent_model import IntentHead, intent_counts
from enrichment.intents import intents, spam_likelihood
from enrichment.language import detect_language
from enrichment.sentiment_model import CLASSES, LinearHead, char_counts, word_counts
from enrichment.topics import TopicMatcher

NEUTRAL_MARGIN = 0.15


def sentiment_from_probs(probs: np.ndarray) -> Sentiment:
    """Label = argmax; score = P(pos) - P(neg) in [-1, 1]; confidence = max probability."""
    neg, neu, pos = (float(p) for p in probs)
    label = CLASSES[int(np.argmax(probs))]
    score = max(-1.0, min(1.0, pos - neg))
    return Sentiment(label=label, score=round(score, 4), confidence=round(max(neg, neu, pos), 4))  # type: ignore[arg-type]


class LinearEnricher:
    def __init__(self, *, head: LinearHead, intent_head: IntentHead, embedder: Embedder | None,
                 topics: TopicMatcher, stamp: ModelStamp, batch_size: int = 256,
                 convert_traditional: bool = True, second_stage: SecondStage | None = None) -> None:
        self._head = head
        self._second = second_stage
        self._intents = intent_head
        self._embedder = embedder
        self._topics = topics
        self._stamp = stamp
        self._batch = batch_size
        self._convert = convert_traditional

    @property
    def stamp(self) -> ModelStamp:
        return self._stamp

    def enrich(self, texts: Sequence[str]) -> list[Enrichment]:
        out: list[Enrichment] = []
        for start in range(0, len(texts), self._batch):
            out.extend(self._enrich_batch([t if isinstance(t, str) else "" for t in texts[start : start + self._batch]]))
        return out

    def _enrich_batch(self, texts: list[str]) -> list[Enrichment]:
        languages = [detect_language(t) for t in texts]
        normalised = [head_input(t, lang) if self._convert else t for t, lang in zip(texts, languages, strict=True)]
        vectors = self._embedder.embed(normalised) if self._embedder is not None else None
        counts = (char_counts(normalised), word_counts(normalised))
        probs = self._head.predict_proba(normalised, vectors, counts)
        if self._second is not None:
            probs, _ = self._second.refine(normalised, probs)
        learned = self._intents.labels(intent_counts(*counts))
        topics = self._topics.match(normalised, vectors)
        results = []
        for i, text in enumerate(texts):
            if not text.strip():
                sent = Sentiment(label="neutral", score=0.0, confidence=0.5)
            else:
                sent = emoji_sentiment(text) or sentiment_from_probs(probs[i])
            ironic = "sarcasm" in learned[i] and "complaint" in learned[i]  # irony about a bad experience
            if ironic and sent.label == "positive":  # sarcastic praise is a complaint
                sent = Sentiment(label="negative", score=-abs(sent.score), confidence=sent.confidence)
            results.append(Enrichment(
                sentiment=sent, topics=topics[i], intents=intents(learned[i], sent),
                sarcasm=ironic, language=languages[i],
                spam=spam_likelihood(text), model=self._stamp,
            ))
        return results
