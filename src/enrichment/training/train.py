"""Rebuild and evaluate the shipped sentiment heads (``scrm models train|evaluate``).

Reproducible: fixed splits (``datasets.SEED``), ``random_state`` fixed, deterministic solvers. The head is
a gated mixture of one expert per data set (zh_reviews binary, mapped onto negative/positive; en_tweets and
zh_news 3 classes) over shared features; every test part is held out. Blocking; minutes on 2 cores (the e5 head needs e5
embeddings of ~12k texts, cached under ``~/.cache/scrm/embeddings``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from enrichment.chinese import to_simplified
from enrichment.embedders import Embedder, cached_embed
from enrichment.sentiment_model import CLASSES, LinearHead, char_counts, combine, fit_idf, tfidf
from enrichment.training import datasets as ds

SEED = 7
DEFAULT_CACHE = Path.home() / ".cache" / "scrm" / "embeddings"
# per-dataset cap on training rows for slow embedders (e5 runs ~50 texts/s on 2 cores)
SLOW_TRAIN_CAP = {"zh_reviews": 4000, "en_tweets": 4000, "zh_news": 3000}


def _to3(split: ds.Split, y: np.ndarray) -> np.ndarray:
    return np.array([CLASSES.index(split.labels[i]) for i in y])


def load_splits() -> list[ds.Split]:
    return [ds.zh_reviews(), ds.en_tweets(), ds.zh_news()]


def fit_head(texts: Sequence[str], y: np.ndarray, dense: np.ndarray | None, *, embedder: str | None,
             dense_weight: float = 1.0, c: float = 10.0, version: str = "1") -> LinearHead:
    from sklearn.linear_model import LogisticRegression

    counts = char_counts(texts)
    idf = fit_idf(counts)
    x = combine(tfidf(counts, idf), dense, dense_weight)
    model = LogisticRegression(C=c, max_iter=2000, random_state=SEED).fit(x, y)
    coef, intercept = model.coef_, model.intercept_
    if coef.shape[0] == 1:  # binary: sklearn keeps one row for the second class
        coef, intercept = np.vstack([-coef / 2, coef / 2]), np.array([-intercept[0] / 2, intercept[0] / 2])
    weights = np.zeros((x.shape[1], len(CLASSES)), np.float32)
    bias = np.full(len(CLASSES), -30.0, np.float32)  # classes absent from training are never predicted
    for row, cls in enumerate(model.classes_):
        weights[:, int(cls)], bias[int(cls)] = coef[row], intercept[row]
    meta = {"embedder": embedder or "", "dense_weight": dense_weight, "C": c, "version": version,
            "n_train": len(texts), "ngrams": "char1-4", "hash_features": counts.shape[1]}
    return LinearHead(weights=weights, bias=bias, idf=idf, meta=meta)


# per-domain expert heads: C per expert (chosen on held-out validation parts of train, see docs)
EXPERT_C = {"zh_reviews": 10.0, "en_tweets": 10.0, "zh_news": 30.0}
GATE_C = 1.0
GATE_ROWS = 4000  # rows per domain for the gate (domain identification is easy; keeps training short)
VALIDATION = 0.2  # share of a 3-class train part held out to calibrate the class offsets
OFFSET_GRID = (-1.0, -0.75, -0.5, -0.25, 0.0, 0.25, 0.5)
F1_WEIGHT = 0.5  # validation objective: accuracy + F1_WEIGHT * macro-F1


def _lr(x, y: np.ndarray, c: float):  # type: ignore[no-untyped-def]
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=2000, random_state=SEED).fit(x, y)


def _expert_columns(model, n_classes: int = len(CLASSES)) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    coef, intercept = model.coef_, model.intercept_
    if coef.shape[0] == 1:  # binary: sklearn keeps one row for the second class
        coef, intercept = np.vstack([-coef / 2, coef / 2]), np.array([-intercept[0] / 2, intercept[0] / 2])
    weights = np.zeros((coef.shape[1], n_classes), np.float32)
    bias = np.full(n_classes, -30.0, np.float32)  # classes absent from training are never predicted
    for row, cls in enumerate(model.classes_):
        weights[:, int(cls)], bias[int(cls)] = coef[row], intercept[row]
    return weights, bias


def _calibrated_offsets(x, y: np.ndarray, c: float) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Neutral and positive logit offsets (decision thresholds) maximising accuracy + 0.5 macro-F1 on a
    seeded validation part of the training rows (the model is fitted on the rest); zeros for binary data."""
    from sklearn.metrics import accuracy_score, f1_score

    offsets = np.zeros(len(CLASSES), np.float32)
    if len(np.unique(y)) < len(CLASSES):
        return offsets
    order = np.random.default_rng(SEED).permutation(len(y))
    n_val = int(len(y) * VALIDATION)
    val, fit = order[:n_val], order[n_val:]
    model = _lr(x[fit], y[fit], c)
    logits = model.decision_function(x[val])
    best = (-1.0, 0.0, 0.0)
    for neu in OFFSET_GRID:
        for pos in OFFSET_GRID:
            pred = model.classes_[(logits + np.array([0.0, neu, pos])).argmax(axis=1)]
            quality = accuracy_score(y[val], pred) + F1_WEIGHT * f1_score(y[val], pred, average="macro")
            if quality > best[0] + 1e-9:
                best = (quality, neu, pos)
    offsets[1], offsets[2] = best[1], best[2]
    return offsets


def fit_experts(parts: Sequence[tuple[str, Sequence[str], np.ndarray]], dense: Sequence[np.ndarray] | None, *,
                embedder: str | None, dense_weight: float = 1.0, version: str = "2",
                log: Callable[[str], None] = print) -> LinearHead:
    """A gated mixture of per-domain heads over one shared feature space: for each ``(name, texts, y)``
    part an expert (multinomial LR, ``EXPERT_C[name]``, class offsets calibrated on a validation part of
    its own train rows), plus a gate (LR predicting which part a text comes from). Training each domain
    on its own data keeps the binary reviews from drowning the 3-class news (the joint head lost ~4
    points of zh_news accuracy)."""
    from scipy import sparse

    counts = [char_counts(texts) for _, texts, _ in parts]
    idf = fit_idf(sparse.vstack(counts).tocsr())
    xs = [combine(tfidf(cnt, idf), dense[i] if dense is not None else None, dense_weight)
          for i, cnt in enumerate(counts)]
    n_feat, k = xs[0].shape[1], len(parts)
    weights = np.zeros((n_feat, k * len(CLASSES) + k), np.float32)
    bias = np.zeros(k * len(CLASSES) + k, np.float32)
    offsets: dict[str, list[float]] = {}
    for i, ((name, _, y), x) in enumerate(zip(parts, xs, strict=True)):
        c = EXPERT_C.get(name, 10.0)
        log(f"fitting expert {name} on {x.shape[0]} texts (C={c})")
        off = _calibrated_offsets(x, y, c)
        w, b = _expert_columns(_lr(x, y, c))
        cols = slice(i * len(CLASSES), (i + 1) * len(CLASSES))
        weights[:, cols], bias[cols] = w, b + off
        offsets[name] = [float(v) for v in off]
    rng = np.random.default_rng(SEED)
    rows = [np.sort(rng.permutation(x.shape[0])[:GATE_ROWS]) for x in xs]
    gx = sparse.vstack([x[r] for x, r in zip(xs, rows, strict=True)]).tocsr()
    gy = np.concatenate([np.full(len(r), i) for i, r in enumerate(rows)])
    log(f"fitting gate on {gx.shape[0]} texts")
    gate = _lr(gx, gy, GATE_C)
    gw = gate.coef_.T if k > 2 else np.hstack([-gate.coef_.T / 2, gate.coef_.T / 2])
    gb = gate.intercept_ if k > 2 else np.array([-gate.intercept_[0] / 2, gate.intercept_[0] / 2])
    weights[:, k * len(CLASSES) :], bias[k * len(CLASSES) :] = gw, gb
    meta = {"embedder": embedder or "", "dense_weight": dense_weight, "version": version,
            "experts": [name for name, _, _ in parts], "C": {n: EXPERT_C.get(n, 10.0) for n, _, _ in parts},
            "gate_C": GATE_C, "offsets": offsets, "n_train": int(sum(x.shape[0] for x in xs)),
            "ngrams": "char1-4", "hash_features": int(counts[0].shape[1])}
    return LinearHead(weights=weights, bias=bias, idf=idf, meta=meta)


def train_head(embedder: Embedder | None, *, cap: dict[str, int] | None = None,
               cache_dir: Path | None = DEFAULT_CACHE, log: Callable[[str], None] = print) -> LinearHead:
    """Train the gated per-domain head on the train parts of every split (``cap`` limits rows per data
    set)."""
    parts: list[tuple[str, Sequence[str], np.ndarray]] = []
    dense: list[np.ndarray] = []
    for split in load_splits():
        n = (cap or {}).get(split.name, len(split.train_texts))
        part = split.train_texts[:n]
        parts.append((split.name, part, _to3(split, split.train_y[:n])))
        if embedder is not None:
            log(f"embedding {len(part)} {split.name} texts with {embedder.name}")
            dense.append(cached_embed(embedder, part, cache_dir))
    return fit_experts(parts, dense if embedder is not None else None,
                       embedder=embedder.name if embedder else None, log=log)


@dataclass(frozen=True)
class Score:
    dataset: str
    language: str
    system: str
    n: int
    accuracy: float
    macro_f1: float


def _score(split: ds.Split, system: str, y_pred: np.ndarray, y_true: np.ndarray | None = None) -> Score:
    from sklearn.metrics import accuracy_score, f1_score

    truth = split.test_y if y_true is None else y_true
    return Score(split.name, split.language, system, len(truth), float(accuracy_score(truth, y_pred)),
                 float(f1_score(truth, y_pred, average="macro")))


def predict_split(head: LinearHead, split: ds.Split, texts: Sequence[str], dense: np.ndarray | None) -> np.ndarray:
    """Predictions in the split's own label space (binary sets compare negative vs positive only)."""
    probs = head.predict_proba(texts, dense)
    columns = [CLASSES.index(label) for label in split.labels]
    return np.asarray(probs[:, columns].argmax(axis=1))


def baseline(split: ds.Split, test_texts: Sequence[str] | None = None) -> np.ndarray:
    """TF-IDF char 1-3-gram + logistic regression trained on the split's train part."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
    model = LogisticRegression(max_iter=2000, random_state=SEED).fit(vec.fit_transform(split.train_texts),
                                                                     split.train_y)
    return np.asarray(model.predict(vec.transform(list(test_texts or split.test_texts))))


def evaluate_heads(heads: dict[str, tuple[LinearHead, Embedder | None]], *, splits: list[ds.Split] | None = None,
                   cache_dir: Path | None = DEFAULT_CACHE, log: Callable[[str], None] = print) -> list[Score]:
    """Scores of the baseline and each named head on every held-out test split, plus zh-Hant variants
    (the zh test parts converted to Traditional, scored raw and after OpenCC t2s conversion)."""
    scores: list[Score] = []
    for split in splits or load_splits():
        log(f"evaluating {split.name}")
        scores.append(_score(split, "baseline tfidf-char1-3+LR", baseline(split)))
        hant = ds.to_traditional(split) if split.language == "zh-Hans" else None
        if hant is not None:
            scores.append(_score(hant, "baseline tfidf-char1-3+LR", baseline(split, hant.test_texts)))
        for name, (head, embedder) in heads.items():
            dense = cached_embed(embedder, split.test_texts, cache_dir) if embedder else None
            scores.append(_score(split, name, predict_split(head, split, split.test_texts, dense)))
            if hant is not None:
                raw = cached_embed(embedder, hant.test_texts, cache_dir) if embedder else None
                scores.append(_score(hant, name + " (no t2s)", predict_split(head, hant, hant.test_texts, raw)))
                back = [to_simplified(t) for t in hant.test_texts]
                dense_back = cached_embed(embedder, back, cache_dir) if embedder else None
                scores.append(_score(hant, name + " (t2s)", predict_split(head, hant, back, dense_back)))
    return scores


def format_scores(scores: Sequence[Score]) -> str:
    lines = [f"{'dataset':<16}{'lang':<9}{'system':<38}{'n':>6}{'acc':>8}{'macroF1':>9}"]
    lines += [f"{s.dataset:<16}{s.language:<9}{s.system:<38}{s.n:>6}{s.accuracy:>8.3f}{s.macro_f1:>9.3f}"
              for s in scores]
    return "\n".join(lines)
