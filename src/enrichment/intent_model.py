"""The shipped intent head: one logistic regression per intent (and one for sarcasm) over hashed character
1-4-gram and word uni+bigram TF-IDF, learned from the examples in ``data/intent_examples.jsonl``.

Only the columns seen in training are kept (their indices, IDF and weights), so the file stays small;
the features are the sentiment head's raw hashed counts (``sentiment_model.char_counts`` /
``word_counts``), computed once per batch and shared. Each label has its own decision threshold, chosen by
cross-validation on the training examples. Pure given the weights, thread-safe, never raises on text.
``scrm models train --model intents`` rebuilds it (seconds).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse

from enrichment.exceptions import EnrichmentError
from enrichment.sentiment_model import WORD_SCHEME, read_head, write_head

LABELS = ("purchase_intent", "purchased", "question", "complaint", "churn_threat", "praise",
          "recommendation_request", "sarcasm")
"""The head's outputs, in column order: the ``Intent`` labels it predicts, and ``sarcasm``."""


def restricted_tfidf(counts: sparse.csr_matrix, columns: np.ndarray, idf: np.ndarray) -> sparse.csr_matrix:
    """Sublinear TF x IDF over ``columns`` of ``counts`` only, rows L2-normalised (the training recipe)."""
    from sklearn.preprocessing import normalize

    part = counts[:, columns].astype(np.float32)
    np.log(part.data, part.data)
    part.data += 1.0
    return normalize(part.multiply(idf[None, :]).tocsr(), copy=False)


@dataclass(frozen=True)
class IntentHead:
    """``columns`` (sorted indices into the [char | word] count space), their ``idf``, ``weights``
    (columns x labels), ``bias`` and per-label ``thresholds`` on the probability."""

    columns: np.ndarray
    idf: np.ndarray
    weights: np.ndarray
    bias: np.ndarray
    thresholds: np.ndarray
    meta: dict[str, object]

    def predict_proba(self, counts: sparse.csr_matrix) -> np.ndarray:
        """P(label) per text and label (``LABELS`` order) from raw [char | word] counts."""
        if counts.shape[0] == 0:
            return np.zeros((0, len(LABELS)), dtype=np.float32)
        logits = np.asarray(restricted_tfidf(counts, self.columns, self.idf) @ self.weights) + self.bias
        return (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)

    def labels(self, counts: sparse.csr_matrix) -> list[tuple[str, ...]]:
        """The labels over their thresholds, per text."""
        hits = self.predict_proba(counts) >= self.thresholds[None, :]
        return [tuple(label for label, hit in zip(LABELS, row, strict=True) if hit) for row in hits]

    def save(self, path: Path) -> None:
        write_head(path, {**self.meta, "labels": list(LABELS)}, columns=self.columns.astype(np.int32),
                   idf=self.idf.astype(np.float16), weights=self.weights.astype(np.float16),
                   bias=self.bias.astype(np.float32), thresholds=self.thresholds.astype(np.float32))

    @classmethod
    def load(cls, path: Path) -> IntentHead:
        """Raises ``EnrichmentError`` when the file is missing or not an intent head of these labels."""
        arrays, meta = read_head(path, ("columns", "idf", "weights", "bias", "thresholds"), what="intent head",
                                 build="scrm models train --model intents")
        head = cls(columns=arrays["columns"].astype(np.int64), idf=arrays["idf"], weights=arrays["weights"],
                   bias=arrays["bias"], thresholds=arrays["thresholds"], meta=meta)
        if head.meta.get("labels") != list(LABELS) or head.meta.get("words") != WORD_SCHEME:
            raise EnrichmentError(f"intent head {path} was trained for other labels or features: retrain it")
        return head


def intent_counts(char: sparse.csr_matrix, words: sparse.csr_matrix) -> sparse.csr_matrix:
    """The [char | word] raw count matrix the head reads."""
    return sparse.hstack([char, words], format="csr")


def label_rows(rows: Sequence[Sequence[str]]) -> np.ndarray:
    """0/1 matrix (texts x ``LABELS``) of label lists."""
    return np.array([[label in row for label in LABELS] for row in rows], dtype=np.int8)
