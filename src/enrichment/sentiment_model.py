"""The shipped sentiment head: hashed character 1-4-gram TF-IDF features plus (optionally) sentence
embeddings, one multinomial logistic-regression layer over negative/neutral/positive.

Weights live in a small ``.npz`` (float16) next to this module; ``scrm models train`` rebuilds it. Hashing
means no vocabulary is shipped: only the IDF vector and the weight matrix. Inference is a sparse
matrix product plus the embedder; pure given the weights, thread-safe, never raises on text.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse

from enrichment.exceptions import EnrichmentError

CLASSES = ("negative", "neutral", "positive")
N_FEATURES = 2**18
NGRAMS = (1, 4)


def _hasher():  # type: ignore[no-untyped-def]
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(
        analyzer="char", ngram_range=NGRAMS, n_features=N_FEATURES, alternate_sign=False, norm=None,
        lowercase=True, dtype=np.float32,
    )


def char_counts(texts: Sequence[str]) -> sparse.csr_matrix:
    """Raw hashed char n-gram counts (rows = texts)."""
    return _hasher().transform([t or "" for t in texts]).tocsr()


def tfidf(counts: sparse.csr_matrix, idf: np.ndarray) -> sparse.csr_matrix:
    """Sublinear TF times IDF, rows L2-normalised (same recipe as sklearn's TfidfTransformer)."""
    from sklearn.preprocessing import normalize

    out = counts.copy().astype(np.float32)
    np.log(out.data, out.data)
    out.data += 1.0
    out = out.multiply(idf.astype(np.float32)).tocsr()
    return normalize(out, copy=False)


def fit_idf(counts: sparse.csr_matrix) -> np.ndarray:
    df = np.bincount(counts.indices, minlength=counts.shape[1]).astype(np.float64)
    n = counts.shape[0]
    return (np.log((1.0 + n) / (1.0 + df)) + 1.0).astype(np.float32)


def combine(char_part: sparse.csr_matrix, dense: np.ndarray | None, dense_weight: float) -> sparse.csr_matrix:
    if dense is None or dense.shape[1] == 0:
        return char_part
    return sparse.hstack([char_part, sparse.csr_matrix(dense * dense_weight)], format="csr")


def _softmax(logits: np.ndarray) -> np.ndarray:
    logits = logits - logits.max(axis=-1, keepdims=True)
    probs = np.exp(logits)
    return (probs / probs.sum(axis=-1, keepdims=True)).astype(np.float32)


@dataclass(frozen=True)
class LinearHead:
    """``W`` (features x outputs), ``b`` (outputs), ``idf`` and metadata (embedder name, dense weight,
    ``experts``: the domain names when the head is a gated mixture of per-domain experts)."""

    weights: np.ndarray
    bias: np.ndarray
    idf: np.ndarray
    meta: dict[str, object]

    @property
    def embedder(self) -> str | None:
        value = self.meta.get("embedder")
        return str(value) if value else None

    @property
    def dense_weight(self) -> float:
        return float(self.meta.get("dense_weight", 1.0))  # type: ignore[arg-type]

    def features(self, texts: Sequence[str], dense: np.ndarray | None) -> sparse.csr_matrix:
        return combine(tfidf(char_counts(texts), self.idf), dense, self.dense_weight)

    @property
    def experts(self) -> list[str]:
        """Names of the per-domain expert heads (one entry for a plain single head)."""
        names = self.meta.get("experts")
        return [str(n) for n in names] if isinstance(names, list) and names else ["joint"]

    def predict_proba(self, texts: Sequence[str], dense: np.ndarray | None) -> np.ndarray:
        """Probabilities over ``CLASSES`` for each text (rows sum to 1).

        With K > 1 experts the weight matrix holds K blocks of ``len(CLASSES)`` columns (one softmax head
        per training domain) followed by K gate columns (a softmax over domains): the result is the
        gate-weighted mixture of the experts' distributions.
        """
        if not texts:
            return np.zeros((0, len(CLASSES)), dtype=np.float32)
        logits = np.asarray(self.features(texts, dense) @ self.weights.astype(np.float32)) + self.bias
        k, c = len(self.experts), len(CLASSES)
        if k == 1:
            return _softmax(logits)
        expert = _softmax(logits[:, : k * c].reshape(len(texts), k, c))
        gate = _softmax(logits[:, k * c :])
        return np.einsum("nk,nkc->nc", gate, expert).astype(np.float32)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            path, weights=self.weights.astype(np.float16), bias=self.bias.astype(np.float32),
            idf=self.idf.astype(np.float16), meta=np.array(json.dumps(self.meta, sort_keys=True)),
        )

    @classmethod
    def load(cls, path: Path) -> LinearHead:
        """Raises ``EnrichmentError`` when the file is missing or not a head."""
        if not Path(path).is_file():
            raise EnrichmentError(f"sentiment head {path} not found: run `scrm models train` to build it")
        try:
            with np.load(path, allow_pickle=False) as data:
                return cls(
                    weights=data["weights"].astype(np.float32), bias=data["bias"].astype(np.float32),
                    idf=data["idf"].astype(np.float32), meta=json.loads(str(data["meta"])),
                )
        except (OSError, KeyError, ValueError) as exc:
            raise EnrichmentError(f"sentiment head {path} is unreadable: {exc}") from exc
