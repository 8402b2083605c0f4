"""Rebuild and evaluate the shipped sentiment heads (``scrm models train|evaluate``).

Reproducible: fixed splits (``datasets.SEED``), ``random_state`` fixed, deterministic solvers. The head is
a gated mixture of one expert per data set (zh_reviews binary, mapped onto negative/positive; en_tweets and
zh_news 3 classes) over shared features; every test part is held out. Blocking; minutes on 2 cores (the e5 head needs e5
embeddings of ~12k texts, cached under ``~/.cache/scrm/embeddings``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from enrichment.cascade import SecondStage
from enrichment.chinese import to_simplified
from enrichment.embedders import Embedder, cached_embed
from enrichment.sentiment_model import (
    CLASSES,
    LENGTH_BINS,
    N_FEATURES,
    WORD_FEATURES,
    WORD_SCHEME,
    LinearHead,
    char_counts,
    combine,
    fit_idf,
    length_bins,
    tfidf,
    word_counts,
)
from enrichment.training import datasets as ds

SEED = 7
DEFAULT_CACHE = Path.home() / ".cache" / "scrm" / "embeddings"
# per-dataset cap on training rows for slow embedders (e5 runs ~50 texts/s on 2 cores)
SLOW_TRAIN_CAP = {"zh_reviews": 4000, "en_tweets": 4000, "zh_news": 3000, "en_reviews": 4000}


def _to3(split: ds.Split, y: np.ndarray) -> np.ndarray:
    return np.array([CLASSES.index(split.labels[i]) for i in y])


def load_splits() -> list[ds.Split]:
    """The data sets the head is trained on (train parts) and scored on (test parts): one expert each."""
    return [ds.zh_reviews(), ds.en_tweets(), ds.zh_news(), ds.en_reviews(), ds.social_posts()]


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


@dataclass(frozen=True)
class ExpertRecipe:
    """How one per-domain expert is fitted: LR inverse regularisation ``c`` and ``nb``, the power of the
    naive-Bayes log-count-ratio feature weighting (0 = plain TF-IDF). The weighting multiplies each sparse
    column by ``max_class |log-count ratio| ** nb`` before the fit; it is folded into the expert's weights
    afterwards, so inference stays one sparse product."""

    c: float
    nb: float = 0.0


# chosen on validation parts carved out of train (20 % dev part, 5-fold CV for zh_news; see docs)
EXPERTS = {"zh_reviews": ExpertRecipe(c=10.0, nb=0.5), "en_tweets": ExpertRecipe(c=3.0),
           "zh_news": ExpertRecipe(c=10.0, nb=0.5)}
DEFAULT_EXPERT = ExpertRecipe(c=10.0)
EXPERT_C = {name: recipe.c for name, recipe in EXPERTS.items()}  # kept for callers of the v2 recipe
GATE_C = 10.0
GATE_ROWS = 4000  # rows per domain for the gate (domain identification is easy; keeps training short)
CALIBRATION_FOLDS = 5  # class offsets: chosen on pooled out-of-fold logits of 5 seeded folds of train
OFFSET_GRID = (-1.0, -0.75, -0.5, -0.25, 0.0, 0.25, 0.5)
GATE_OFFSET_GRID = (0.0, 0.5, 1.0, 1.5, 2.0)
NB_ALPHA = 1.0


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


def nb_scale(x, y: np.ndarray, n_sparse: int, power: float) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Per-column feature weights: for the first ``n_sparse`` (TF-IDF) columns ``max over classes of
    |log(p_c / |p_c|) - log(q_c / |q_c|)|`` to the power ``power`` (p_c: smoothed feature sums in class c,
    q_c: in the other classes; Wang & Manning's NB-SVM ratio, one weight per column for all classes);
    1 for the dense columns and everywhere when ``power`` is 0."""
    scale = np.ones(x.shape[1], np.float32)
    if power <= 0:
        return scale
    sp = x[:, :n_sparse]
    ratios = []
    for cls in np.unique(y):
        p = NB_ALPHA + np.asarray(sp[y == cls].sum(axis=0)).ravel()
        q = NB_ALPHA + np.asarray(sp[y != cls].sum(axis=0)).ravel()
        ratios.append(np.log(p / p.sum()) - np.log(q / q.sum()))
    scale[:n_sparse] = (np.abs(np.vstack(ratios)).max(axis=0) ** power).astype(np.float32)
    return scale


def _fit_expert(x, y: np.ndarray, recipe: ExpertRecipe, n_sparse: int, init=None):  # type: ignore[no-untyped-def]
    """The expert's (weights, bias) on the unweighted features (NB weighting folded in), and the fitted
    model; ``init`` (a model from ``_fit_expert``) warm-starts the solver, which only saves time."""
    from scipy import sparse
    from sklearn.linear_model import LogisticRegression

    scale = nb_scale(x, y, n_sparse, recipe.nb)
    xs = x @ sparse.diags(scale) if recipe.nb > 0 else x
    if init is None:
        model = _lr(xs, y, recipe.c)
    else:
        model = init
        model.set_params(warm_start=True)
        model.fit(xs, y)
    assert isinstance(model, LogisticRegression)
    weights, bias = _expert_columns(model)
    return weights * scale[:, None], bias, model


def choose_offsets(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Neutral and positive logit offsets (over ``OFFSET_GRID``) that maximise accuracy on ``(logits, y)``
    among those whose macro-F1 is not below the macro-F1 without offsets; ties go to the smaller offsets,
    so (0, 0) is kept unless something strictly better exists."""
    from sklearn.metrics import accuracy_score, f1_score

    def score(neu: float, pos: float) -> tuple[float, float]:
        pred = (logits + np.array([0.0, neu, pos])).argmax(axis=1)
        return accuracy_score(y, pred), f1_score(y, pred, average="macro")

    base_acc, base_f1 = score(0.0, 0.0)
    best = (base_acc, 0.0, 0.0, 0.0)  # accuracy, -|offsets|, neutral, positive
    for neu in OFFSET_GRID:
        for pos in OFFSET_GRID:
            acc, f1 = score(neu, pos)
            if f1 + 1e-9 < base_f1:
                continue
            cand = (acc, -(abs(neu) + abs(pos)), neu, pos)
            if cand[:2] > best[:2]:
                best = cand
    offsets = np.zeros(len(CLASSES), np.float32)
    offsets[1], offsets[2] = best[2], best[3]
    return offsets


def _softmax(logits: np.ndarray) -> np.ndarray:
    logits = logits - logits.max(axis=-1, keepdims=True)
    probs = np.exp(logits)
    return probs / probs.sum(axis=-1, keepdims=True)


def mixture(expert_logits: np.ndarray, gate_logits: np.ndarray) -> np.ndarray:
    """Gate-weighted mixture of the experts' class distributions (n x K*3 and n x K logits)."""
    n, k = gate_logits.shape
    experts = _softmax(expert_logits.reshape(n, k, len(CLASSES)))
    return np.einsum("nk,nkc->nc", _softmax(gate_logits), experts)


def choose_gate_offsets(expert_logits: Sequence[np.ndarray], gate_logits: Sequence[np.ndarray],
                        ys: Sequence[np.ndarray], columns: Sequence[list[int]]) -> np.ndarray:
    """Gate logit offsets (one per domain, over ``GATE_OFFSET_GRID``) maximising the mean validation accuracy
    of the mixture over the domains (each scored in its own label columns); ties go to smaller offsets."""
    import itertools

    k = len(ys)
    best: tuple[float, float, tuple[float, ...]] = (-1.0, 0.0, (0.0,) * k)
    for combo in itertools.product(GATE_OFFSET_GRID, repeat=k):
        shift = np.asarray(combo)
        acc = float(np.mean([
            (mixture(e, g + shift)[:, cols].argmax(axis=1) == y).mean()
            for e, g, y, cols in zip(expert_logits, gate_logits, ys, columns, strict=True)
        ]))
        cand = (acc, -float(np.abs(shift).sum()), combo)
        if cand[:2] > best[:2]:
            best = cand
    return np.asarray(best[2], np.float32)


def shared_features(counts: Sequence[tuple], dense: Sequence[np.ndarray] | None,  # type: ignore[type-arg]
                    dense_weight: float) -> tuple[np.ndarray, list]:  # type: ignore[type-arg]
    """IDF over all parts' (char, word) counts and each part's [char TF-IDF | word TF-IDF | dense] rows,
    exactly as ``LinearHead.features`` builds them at inference (without the length columns)."""
    from scipy import sparse

    char_idf = fit_idf(sparse.vstack([c for c, _ in counts]).tocsr())
    word_idf = fit_idf(sparse.vstack([w for _, w in counts]).tocsr())
    xs = [combine(sparse.hstack([tfidf(c, char_idf), tfidf(w, word_idf)], format="csr"),
                  dense[i] if dense is not None else None, dense_weight) for i, (c, w) in enumerate(counts)]
    return np.concatenate([char_idf, word_idf]), xs


def _gate(xs: Sequence, rows: Sequence[np.ndarray]):  # type: ignore[no-untyped-def,type-arg]
    """Domain classifier on up to ``GATE_ROWS`` of the given rows of each part (seeded)."""
    from scipy import sparse

    rng = np.random.default_rng(SEED)
    picked = [np.sort(r[rng.permutation(len(r))[:GATE_ROWS]]) for r in rows]
    gx = sparse.vstack([x[p] for x, p in zip(xs, picked, strict=True)]).tocsr()
    gy = np.concatenate([np.full(len(p), i) for i, p in enumerate(picked)])
    return _lr(gx, gy, GATE_C)


def _gate_columns(gate, k: int) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    if k > 2:
        return gate.coef_.T, gate.intercept_
    return (np.hstack([-gate.coef_.T / 2, gate.coef_.T / 2]),
            np.array([-gate.intercept_[0] / 2, gate.intercept_[0] / 2]))


def fit_experts(parts: Sequence[tuple[str, Sequence[str], np.ndarray]], dense: Sequence[np.ndarray] | None, *,
                embedder: str | None, dense_weight: float = 1.0, version: str = "4",
                recipes: dict[str, ExpertRecipe] | None = None,
                log: Callable[[str], None] = print) -> LinearHead:
    """A gated mixture of per-domain heads over one shared feature space (char 1-4-gram TF-IDF, word
    uni+bigram TF-IDF, dense embeddings; the gate also sees text-length bins).

    For each ``(name, texts, y)`` part an expert (multinomial LR with the part's ``ExpertRecipe``), plus a
    gate (LR predicting which part a text comes from). Calibration uses ``CALIBRATION_FOLDS`` seeded folds
    of every part's train rows: class offsets of 3-class experts are chosen on the pooled out-of-fold
    logits (``choose_offsets``); gate offsets on the mixture over fold 0's validation rows of all parts,
    with experts and gate fitted on the other folds (``choose_gate_offsets``); finally experts and gate
    are refitted on all rows (warm-started from the fold-0 fit).
    Training each domain on its own data keeps the binary reviews from drowning the 3-class news (the
    joint head lost ~4 points of zh_news accuracy)."""
    from scipy import sparse

    recipes = EXPERTS if recipes is None else recipes
    log("hashing char and word n-grams")
    counts = [(char_counts(texts), word_counts(texts)) for _, texts, _ in parts]
    idf, xs = shared_features(counts, dense, dense_weight)
    gxs = [sparse.hstack([x, sparse.csr_matrix(length_bins(texts))], format="csr")
           for x, (_, texts, _) in zip(xs, parts, strict=True)]
    n_sparse = int(idf.shape[0])
    n_feat, k, c3 = gxs[0].shape[1], len(parts), len(CLASSES)
    folds = [np.array_split(np.random.default_rng(SEED).permutation(len(y)), CALIBRATION_FOLDS)
             for _, _, y in parts]
    splits = [(np.sort(np.concatenate(f[1:])), np.sort(f[0])) for f in folds]  # fold 0: (fit, validation)

    # 1. calibration: experts on the rows outside each fold; class offsets of 3-class experts chosen on the
    # pooled out-of-fold logits; gate on the fit rows of fold 0, gate offsets on fold 0's validation rows
    offsets: dict[str, list[float]] = {}
    models: dict[str, object] = {}
    val_experts = [np.zeros((len(v), k * c3), np.float32) for _, v in splits]
    for i, ((name, _, y), x, (fit, val)) in enumerate(zip(parts, xs, splits, strict=True)):
        recipe = recipes.get(name, DEFAULT_EXPERT)
        log(f"calibrating expert {name}: {len(fit)} texts fit, {len(val)} validation (C={recipe.c}, nb={recipe.nb})")
        w, b, models[name] = _fit_expert(x[fit], y[fit], recipe, n_sparse)
        off = np.zeros(c3, np.float32)
        if len(np.unique(y)) == c3:
            oof = np.zeros((len(y), c3), np.float32)
            oof[val] = np.asarray(x[val] @ w) + b
            for f in range(1, CALIBRATION_FOLDS):
                held = np.sort(folds[i][f])
                rest = np.setdiff1d(np.arange(len(y)), held)
                log(f"  fold {f + 1}/{CALIBRATION_FOLDS}")
                wf, bf, _ = _fit_expert(x[rest], y[rest], recipe, n_sparse, init=copy.deepcopy(models[name]))
                oof[held] = np.asarray(x[held] @ wf) + bf
            off = choose_offsets(oof, y)
        offsets[name] = [float(v) for v in off]
        for j, (xj, (_, vj)) in enumerate(zip(xs, splits, strict=True)):
            val_experts[j][:, i * c3 : (i + 1) * c3] = np.asarray(xj[vj] @ w) + b + off
    log("calibrating gate")
    gw, gb = _gate_columns(_gate(gxs, [f for f, _ in splits]), k)
    val_gates = [np.asarray(gx[v] @ gw) + gb for gx, (_, v) in zip(gxs, splits, strict=True)]
    names = [name for name, _, _ in parts]
    columns = [[0, 2] if len(np.unique(y)) == 2 else list(range(c3)) for _, _, y in parts]
    truth = [np.searchsorted(cols, y[v]) for (_, _, y), (_, v), cols in zip(parts, splits, columns, strict=True)]
    gate_offsets = choose_gate_offsets(val_experts, val_gates, truth, columns)
    log(f"offsets {offsets}; gate offsets {dict(zip(names, gate_offsets.tolist(), strict=True))}")

    # 2. final round on all rows
    weights = np.zeros((n_feat, k * c3 + k), np.float32)
    bias = np.zeros(k * c3 + k, np.float32)
    for i, ((name, _, y), x) in enumerate(zip(parts, xs, strict=True)):
        recipe = recipes.get(name, DEFAULT_EXPERT)
        log(f"fitting expert {name} on {x.shape[0]} texts")
        w, b, _ = _fit_expert(x, y, recipe, n_sparse, init=models[name])
        cols = slice(i * c3, (i + 1) * c3)
        weights[: x.shape[1], cols], bias[cols] = w, b + np.asarray(offsets[name], np.float32)
    log("fitting gate")
    gw, gb = _gate_columns(_gate(gxs, [np.arange(x.shape[0]) for x in gxs]), k)
    weights[:, k * c3 :], bias[k * c3 :] = gw, gb + gate_offsets
    meta = {"embedder": embedder or "", "dense_weight": dense_weight, "version": version, "experts": names,
            "C": {n: recipes.get(n, DEFAULT_EXPERT).c for n in names},
            "nb": {n: recipes.get(n, DEFAULT_EXPERT).nb for n in names},
            "gate_C": GATE_C, "offsets": offsets, "gate_offsets": dict(zip(names, gate_offsets.tolist(), strict=True)),
            "n_train": int(sum(x.shape[0] for x in xs)), "ngrams": "char1-4", "hash_features": N_FEATURES,
            "words": WORD_SCHEME, "word_hash_features": WORD_FEATURES, "length_bins": list(LENGTH_BINS)}
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


def predict_split(head: LinearHead, split: ds.Split, texts: Sequence[str], dense: np.ndarray | None,
                  second: SecondStage | None = None) -> np.ndarray:
    """Predictions in the split's own label space (binary sets compare negative vs positive only); with
    ``second``, the texts the head is unsure of are re-scored by the cascade's second stage."""
    probs = head.predict_proba(texts, dense)
    if second is not None:
        probs, _ = second.refine(texts, probs)
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
                   cache_dir: Path | None = DEFAULT_CACHE, log: Callable[[str], None] = print,
                   second: SecondStage | None = None) -> list[Score]:
    """Scores of the baseline and each named head on every held-out test split, plus zh-Hant variants
    (the zh test parts converted to Traditional, scored raw and after OpenCC t2s conversion). With
    ``second``, each head is scored once more with the cascade's second stage (``<name> + e5 cascade``)."""
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
            if second is not None:
                scores.append(_score(split, name + " + e5 cascade",
                                     predict_split(head, split, split.test_texts, dense, second)))
            if hant is not None:
                raw = cached_embed(embedder, hant.test_texts, cache_dir) if embedder else None
                scores.append(_score(hant, name + " (no t2s)", predict_split(head, hant, hant.test_texts, raw)))
                back = [to_simplified(t) for t in hant.test_texts]
                dense_back = cached_embed(embedder, back, cache_dir) if embedder else None
                scores.append(_score(hant, name + " (t2s)", predict_split(head, hant, back, dense_back)))
                if second is not None:
                    scores.append(_score(hant, name + " (t2s) + e5 cascade",
                                         predict_split(head, hant, back, dense_back, second)))
    return scores


def format_scores(scores: Sequence[Score]) -> str:
    lines = [f"{'dataset':<16}{'lang':<9}{'system':<38}{'n':>6}{'acc':>8}{'macroF1':>9}"]
    lines += [f"{s.dataset:<16}{s.language:<9}{s.system:<38}{s.n:>6}{s.accuracy:>8.3f}{s.macro_f1:>9.3f}"
              for s in scores]
    return "\n".join(lines)
