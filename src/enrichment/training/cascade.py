"""Train the cascade's second stage (``scrm models train --model cascade``).

One multinomial logistic regression over multilingual-e5-small embeddings (the ONNX encoder the enricher
runs) of every data set's train part, capped per data set (``CAP``), in the enricher's own input form
(zh-Hant and mixed text converted to Simplified). The binary review sets give negative/positive rows
only; the hand-written social posts are weighted ``SOCIAL_WEIGHT`` times, as brand posts are what the
enricher scores. C is chosen by 5-fold cross-validation on those training rows only.

The head scores [embedding | log P_fast]: the fast head's block is the identity, so for a routed text the
answer is the product of the two models' distributions (renormalised), and a fast head that is unsure but
leaning still counts. Fitting that block would need out-of-fold fast-head probabilities of every training
text (five refits of a 9-minute head); the identity needs none.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from enrichment.cascade import HEAD_VERSION, CascadeHead
from enrichment.chinese import head_input
from enrichment.embedders import Embedder, cached_embed
from enrichment.language import detect_language
from enrichment.sentiment_model import CLASSES
from enrichment.training import datasets as ds
from enrichment.training.train import DEFAULT_CACHE, SEED, _to3, load_splits

CAP = {"zh_reviews": 3000, "en_tweets": 3000, "zh_news": 2000, "en_reviews": 3000}
SOCIAL_WEIGHT = 3.0
C_GRID = (0.3, 1.0, 3.0, 10.0)


def training_rows() -> list[tuple[str, list[str], np.ndarray]]:
    """(data set, texts in the enricher's input form, labels over ``CLASSES``) per capped train part."""
    rows = []
    for split in load_splits():
        n = CAP.get(split.name, len(split.train_texts))
        texts = [head_input(t, detect_language(t)) for t in split.train_texts[:n]]
        rows.append((split.name, texts, _to3(split, split.train_y[:n])))
    return rows


def train_cascade_head(encoder: Embedder, *, cache_dir: Path | None = DEFAULT_CACHE,
                       log: Callable[[str], None] = print) -> CascadeHead:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    parts = training_rows()
    xs, ys, ws = [], [], []
    for name, texts, y in parts:
        log(f"embedding {len(texts)} {name} texts with {encoder.name}")
        xs.append(cached_embed(encoder, texts, cache_dir))
        ys.append(y)
        ws.append(np.full(len(y), SOCIAL_WEIGHT if name == ds.social_posts.__name__ else 1.0))
    x, y, w = np.vstack(xs), np.concatenate(ys), np.concatenate(ws)
    folds = list(StratifiedKFold(5, shuffle=True, random_state=SEED).split(x, y))
    best_c, best = C_GRID[0], -1.0
    for c in C_GRID:
        hits = 0.0
        for train, test in folds:
            model = LogisticRegression(C=c, max_iter=3000).fit(x[train], y[train], sample_weight=w[train])
            hits += float(((model.predict(x[test]) == y[test]) * w[test]).sum())
        accuracy = hits / w.sum()
        log(f"C={c:g}: weighted 5-fold accuracy {accuracy:.3f}")
        if accuracy > best:
            best_c, best = c, accuracy
    model = LogisticRegression(C=best_c, max_iter=3000).fit(x, y, sample_weight=w)
    weights = np.vstack([model.coef_.T, np.eye(len(CLASSES))]).astype(np.float32)
    meta = {"version": str(HEAD_VERSION), "encoder": encoder.name, "c": best_c, "cv_accuracy": round(float(best), 4),
            "trained_on": {name: len(texts) for name, texts, _ in parts}, "social_weight": SOCIAL_WEIGHT}
    return CascadeHead(weights=weights, bias=model.intercept_.astype(np.float32), meta=meta)
