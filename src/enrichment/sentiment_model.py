"""The shipped sentiment head: hashed character 1-4-gram TF-IDF features, (since head version 3) hashed
word uni+bigram TF-IDF features (jieba words for Chinese, lower-cased regex tokens with negation marking
for other text) and (optionally) sentence embeddings, one linear layer per expert over
negative/neutral/positive.

Weights live in a small ``.npz`` (float16) next to this module; ``scrm models train`` rebuilds it. Hashing
means no vocabulary is shipped: only the IDF vector and the weight matrix. Inference is a sparse
matrix product plus the embedder; pure given the weights, thread-safe, never raises on text. Word
features need the PyPI package ``jieba`` (pure Python); a head that uses them raises ``EnrichmentError``
at load time when it is missing.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse

from enrichment.exceptions import EnrichmentError

CLASSES = ("negative", "neutral", "positive")
N_FEATURES = 2**18
NGRAMS = (1, 4)
WORD_FEATURES = 2**18
WORD_SCHEME = "word1-2:jieba+en-neg"  # recorded in a head's meta; heads without it use char n-grams only
LENGTH_BINS = (10, 20, 40, 80, 120, 160, 200, 250)  # text-length indicator columns (the gate's only)

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# URLs, @mentions, #hashtags, words (with an apostrophe part: don't, it's), emoticons, runs of ! or ?, any
# other single non-space symbol
_EN_TOKEN = re.compile(
    r"https?://\S+|@\w+|#\w+|[a-z0-9]+(?:'[a-z]+)?|[:;=8x][\-o']?[)(dp/\\\][|]|<3|[!?]+|[^\s\w]"
)
_NEGATORS = frozenset({"not", "no", "never", "cannot", "nothing", "nobody", "none", "nor", "neither", "without"})
_jieba_lock = threading.Lock()
_jieba_tokenizer = None


def _hasher():  # type: ignore[no-untyped-def]
    from sklearn.feature_extraction.text import HashingVectorizer

    return HashingVectorizer(
        analyzer="char", ngram_range=NGRAMS, n_features=N_FEATURES, alternate_sign=False, norm=None,
        lowercase=True, dtype=np.float32,
    )


def char_counts(texts: Sequence[str]) -> sparse.csr_matrix:
    """Raw hashed char n-gram counts (rows = texts)."""
    return _hasher().transform([t or "" for t in texts]).tocsr()


def _jieba():  # type: ignore[no-untyped-def]
    """The process-wide jieba tokenizer, initialised once (~1 s; jieba caches its prefix dict in the temp
    dir). Raises ``EnrichmentError`` when jieba is not installed."""
    global _jieba_tokenizer
    if _jieba_tokenizer is None:
        with _jieba_lock:
            if _jieba_tokenizer is None:
                try:
                    import jieba  # type: ignore[import-not-found]
                except ImportError as exc:
                    raise EnrichmentError(
                        "this sentiment head uses Chinese word features: pip install jieba==0.42.1"
                    ) from exc
                jieba.setLogLevel(logging.WARNING)
                tokenizer = jieba.Tokenizer()
                tokenizer.initialize()
                _jieba_tokenizer = tokenizer
    return _jieba_tokenizer


def word_tokens(text: str) -> list[str]:
    """Lower-cased word tokens: jieba words when the text has CJK characters, otherwise regex tokens
    (words, emoticons, punctuation); URLs become ``<url>``, @mentions ``<user>``; after a negator (not,
    no, never, ...n't) word tokens get a ``neg_`` prefix until the next punctuation token."""
    text = (text or "").lower()
    raw = [t for t in _jieba().lcut(text) if t.strip()] if _CJK.search(text) else _EN_TOKEN.findall(text)
    out: list[str] = []
    negating = False
    for tok in raw:
        if tok.startswith("http"):
            tok = "<url>"
        elif tok.startswith("@") and len(tok) > 1:
            tok = "<user>"
        if len(tok) == 1 and not tok.isalnum() or tok.strip("!?") == "":
            negating = False  # punctuation ends the negation scope
            out.append(tok)
            continue
        out.append("neg_" + tok if negating and tok[0].isalnum() else tok)
        if tok in _NEGATORS or tok.endswith("n't"):
            negating = True
    return out


def word_ngrams(text: str) -> list[str]:
    """Word unigrams and bigrams of ``word_tokens``."""
    tokens = word_tokens(text)
    return tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False)]


def word_counts(texts: Sequence[str]) -> sparse.csr_matrix:
    """Raw hashed word uni+bigram counts (rows = texts, ``WORD_FEATURES`` columns)."""
    from sklearn.feature_extraction.text import HashingVectorizer

    hasher = HashingVectorizer(analyzer=word_ngrams, n_features=WORD_FEATURES, alternate_sign=False, norm=None,
                               dtype=np.float32)
    return hasher.transform([t or "" for t in texts]).tocsr()


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


def length_bins(texts: Sequence[str], edges: Sequence[int] = LENGTH_BINS) -> np.ndarray:
    """One 0/1 column per edge: whether the text has at least that many characters."""
    lengths = np.array([len(t or "") for t in texts], dtype=np.float32)[:, None]
    return (lengths >= np.asarray(edges, dtype=np.float32)[None, :]).astype(np.float32)


def combine(char_part: sparse.csr_matrix, dense: np.ndarray | None, dense_weight: float) -> sparse.csr_matrix:
    if dense is None or dense.shape[1] == 0:
        return char_part
    return sparse.hstack([char_part, sparse.csr_matrix(dense * dense_weight)], format="csr")


def _softmax(logits: np.ndarray) -> np.ndarray:
    logits = logits - logits.max(axis=-1, keepdims=True)
    probs = np.exp(logits)
    return (probs / probs.sum(axis=-1, keepdims=True)).astype(np.float32)


def write_head(path: Path, meta: dict[str, object], **arrays: np.ndarray) -> None:
    """Write a head file ``read_head`` reads: the arrays as given (their dtypes are the caller's choice) and
    ``meta`` as sorted JSON; the parent directory is created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # numpy's stub takes **arrays for its allow_pickle keyword
    np.savez_compressed(path, **arrays, meta=np.array(json.dumps(meta, sort_keys=True)))  # type: ignore[arg-type]


def read_head(path: Path, names: Sequence[str], *, what: str, build: str) -> tuple[dict[str, np.ndarray], dict[str, object]]:
    """The named float32 arrays and the JSON ``meta`` of a head file written with ``np.savez_compressed``.
    Raises ``EnrichmentError`` naming ``what`` when the file is missing (saying to run ``build``) or unreadable."""
    if not Path(path).is_file():
        raise EnrichmentError(f"{what} {path} not found: run `{build}` to build it")
    try:
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name].astype(np.float32) for name in names}, json.loads(str(data["meta"]))
    except (OSError, KeyError, ValueError) as exc:
        raise EnrichmentError(f"{what} {path} is unreadable: {exc}") from exc


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

    @property
    def uses_words(self) -> bool:
        """Whether the head has a word n-gram block after the char block (head version >= 3)."""
        return self.meta.get("words") == WORD_SCHEME

    @property
    def length_edges(self) -> list[int]:
        """Edges of the text-length indicator columns at the end of the features (empty before v3)."""
        edges = self.meta.get("length_bins")
        return [int(e) for e in edges] if isinstance(edges, list) else []

    def features(self, texts: Sequence[str], dense: np.ndarray | None,
                 counts: tuple[sparse.csr_matrix, sparse.csr_matrix] | None = None) -> sparse.csr_matrix:
        """Exactly the feature rows the head was trained on: [char TF-IDF | word TF-IDF | dense | length
        bins] (word and length parts only for heads that have them). ``counts``: the texts' raw
        (``char_counts``, ``word_counts``) when the caller already has them."""
        char, words = counts if counts is not None else (char_counts(texts), None)
        if not self.uses_words:
            return combine(tfidf(char, self.idf), dense, self.dense_weight)
        words = words if words is not None else word_counts(texts)
        sparse_part = sparse.hstack([tfidf(char, self.idf[:N_FEATURES]),
                                     tfidf(words, self.idf[N_FEATURES:])], format="csr")
        x = combine(sparse_part, dense, self.dense_weight)
        if self.length_edges:
            x = sparse.hstack([x, sparse.csr_matrix(length_bins(texts, self.length_edges))], format="csr")
        return x

    @property
    def experts(self) -> list[str]:
        """Names of the per-domain expert heads (one entry for a plain single head)."""
        names = self.meta.get("experts")
        return [str(n) for n in names] if isinstance(names, list) and names else ["joint"]

    def predict_proba(self, texts: Sequence[str], dense: np.ndarray | None,
                      counts: tuple[sparse.csr_matrix, sparse.csr_matrix] | None = None) -> np.ndarray:
        """Probabilities over ``CLASSES`` for each text (rows sum to 1).

        With K > 1 experts the weight matrix holds K blocks of ``len(CLASSES)`` columns (one softmax head
        per training domain) followed by K gate columns (a softmax over domains): the result is the
        gate-weighted mixture of the experts' distributions.
        """
        if not texts:
            return np.zeros((0, len(CLASSES)), dtype=np.float32)
        logits = np.asarray(self.features(texts, dense, counts) @ self.weights.astype(np.float32)) + self.bias
        k, c = len(self.experts), len(CLASSES)
        if k == 1:
            return _softmax(logits)
        expert = _softmax(logits[:, : k * c].reshape(len(texts), k, c))
        gate = _softmax(logits[:, k * c :])
        return np.einsum("nk,nkc->nc", gate, expert).astype(np.float32)

    def save(self, path: Path) -> None:
        write_head(path, self.meta, weights=self.weights.astype(np.float16), bias=self.bias.astype(np.float32),
                   idf=self.idf.astype(np.float16))

    @classmethod
    def load(cls, path: Path) -> LinearHead:
        """Raises ``EnrichmentError`` when the file is missing, not a head, or needs a missing tokenizer
        (jieba for word features)."""
        arrays, meta = read_head(path, ("weights", "bias", "idf"), what="sentiment head",
                                 build="scrm models train")
        head = cls(weights=arrays["weights"], bias=arrays["bias"], idf=arrays["idf"], meta=meta)
        words = head.meta.get("words")
        if words and words != WORD_SCHEME:
            raise EnrichmentError(f"sentiment head {path} uses word features {words!r}; this code has "
                                  f"{WORD_SCHEME!r}: retrain it")
        if head.uses_words:
            _jieba()
        return head
