"""Train and evaluate the intent head (``enrichment.intent_model``).

Training data: ``enrichment/data/intent_examples.jsonl`` (hand-written few-shot examples per intent in
zh-Hans, zh-Hant, en and mixed text). Evaluation data: ``tests/unit/enrichment/data/intent_eval.jsonl``,
written separately and never trained or tuned on (docs/enrichment.md says how both were made).

Also trained on, as partial examples: the sentiment-labelled social posts (``datasets.SOCIAL_TRAIN``), each
a negative example of the labels its sentiment rules out (``NOT_BY_SENTIMENT``: a positive post is no
complaint, a negative one no praise).

Recipe: the texts go through the enricher's own normalisation (language id, zh-Hant and mixed text to
Simplified), raw hashed char 1-4-gram + word uni+bigram counts, columns seen at least twice kept, sublinear
TF-IDF over them; one L2 logistic regression per label on the examples that tell it (class-balanced, C
chosen from a small grid); each label's probability threshold is the one maximising F1 (sarcasm: F0.5) on
5-fold out-of-fold probabilities of those training examples.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from enrichment.chinese import head_input
from enrichment.intent_model import LABELS, IntentHead, intent_counts, label_rows, restricted_tfidf
from enrichment.language import detect_language
from enrichment.protocols import Enricher
from enrichment.sentiment_model import WORD_SCHEME, char_counts, word_counts
from enrichment.training.datasets import SOCIAL_TRAIN

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "intent_examples.jsonl"
MORE_EXAMPLES = ("intent_examples_zh.jsonl", "intent_examples_en.jsonl")
"""Further example files beside ``EXAMPLES``, written later against the confusions the first head made."""
C_GRID = (1.0, 3.0, 10.0, 30.0)
THRESHOLDS = np.round(np.arange(0.2, 0.81, 0.05), 2)
MIN_DF = 2
SEED = 20261


BETA = {"sarcasm": 0.5}
"""F-beta each label's threshold maximises (F1 unless named): sarcasm turns a text's sentiment negative, so
its threshold favours precision."""
NOT_BY_SENTIMENT: dict[str, tuple[str, ...]] = {
    "positive": ("complaint", "churn_threat", "sarcasm"),
    "neutral": ("complaint", "churn_threat", "sarcasm", "praise"),
    "negative": ("praise",),
}
"""Labels a post's sentiment label rules out: the sentiment-labelled social posts
(``datasets.SOCIAL_TRAIN``) are negative examples of exactly these (their other labels are unknown)."""


@dataclass(frozen=True)
class Example:
    """A training text, its labels, and the labels whose presence or absence it tells (``None``: all)."""

    text: str
    labels: tuple[str, ...]
    language: str
    known: frozenset[str] | None = None

    def tells(self, label: str) -> bool:
        return self.known is None or label in self.known


def load_examples(path: Path) -> list[Example]:
    """JSON lines of ``text`` and ``intents`` (a label list; ``sarcasm: true`` also counts as the sarcasm
    label); ``language`` when given, else detected."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        labels = [str(x) for x in row.get("intents", [])]
        if row.get("sarcasm") is True and "sarcasm" not in labels:
            labels.append("sarcasm")
        out.append(Example(text=row["text"], labels=tuple(labels), language=row.get("language")
                           or detect_language(row["text"])))
    return out


def sentiment_examples(path: Path) -> list[Example]:
    """The sentiment-labelled social posts as partial intent examples (``NOT_BY_SENTIMENT``)."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [Example(text=r["text"], labels=(), language=r["language"],
                    known=frozenset(NOT_BY_SENTIMENT[r["sentiment"]])) for r in rows]


def counts_of(texts: Sequence[str]):  # type: ignore[no-untyped-def]
    """The [char | word] counts of ``texts`` as the enricher computes them (``head_input`` first)."""
    texts = [head_input(t, detect_language(t)) for t in texts]
    return intent_counts(char_counts(texts), word_counts(texts))


def _fit(x, y: np.ndarray, c: float):  # type: ignore[no-untyped-def]
    from sklearn.linear_model import LogisticRegression

    if y.min() == y.max():  # a label with no positive (or no negative) example: never (always) predicted
        return None
    return LogisticRegression(C=c, class_weight="balanced", max_iter=2000, random_state=7).fit(x, y)


def _proba(model, x) -> np.ndarray:  # type: ignore[no-untyped-def]
    return np.zeros(x.shape[0]) if model is None else model.predict_proba(x)[:, 1]


def f_beta(y: np.ndarray, p: np.ndarray, beta: float = 1.0) -> float:
    """F-beta of 0/1 predictions ``p`` against ``y``."""
    tp = float((y & p).sum())
    fp = float((p & (1 - y)).sum())
    fn = float((y & (1 - p)).sum())
    b2 = beta * beta
    return (1 + b2) * tp / max(1.0, (1 + b2) * tp + b2 * fn + fp)


def train_intent_head(examples: Sequence[Example]) -> tuple[IntentHead, dict[str, dict[str, float]]]:
    """The head and, per label, the examples it was fitted on, its positives, the chosen C and
    threshold, and the out-of-fold F-beta (train only). Each label is fitted on the examples that tell
    it (``Example.tells``); IDF and kept columns come from every example."""
    from sklearn.model_selection import StratifiedKFold

    counts = counts_of([e.text for e in examples])
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    columns = np.flatnonzero(df >= MIN_DF)
    idf = (np.log((1.0 + counts.shape[0]) / (1.0 + df[columns])) + 1.0).astype(np.float32)
    x_all = restricted_tfidf(counts, columns, idf)
    y_all = label_rows([e.labels for e in examples])
    weights = np.zeros((len(columns), len(LABELS)), dtype=np.float32)
    bias = np.zeros(len(LABELS), dtype=np.float32)
    thresholds = np.full(len(LABELS), 0.5, dtype=np.float32)
    report: dict[str, dict[str, float]] = {}
    for j, label in enumerate(LABELS):
        rows = np.array([i for i, e in enumerate(examples) if e.tells(label)])
        x, y = x_all[rows], y_all[rows, j].astype(np.int64)
        beta = BETA.get(label, 1.0)
        if y.sum() < 5:
            thresholds[j] = 1.01  # too few examples to learn from: never predicted
            report[label] = {"rows": float(len(rows)), "examples": float(y.sum()), "c": 0.0, "threshold": 1.01,
                             "beta": beta, "oof_f": 0.0}
            continue
        folds = list(StratifiedKFold(5, shuffle=True, random_state=SEED).split(np.zeros(len(y)), y))
        best = (-1.0, 1.0, 0.5)
        for c in C_GRID:
            oof = np.zeros(len(y))
            for train, test in folds:
                oof[test] = _proba(_fit(x[train], y[train], c), x[test])
            for t in THRESHOLDS:
                score = f_beta(y, (oof >= t).astype(np.int64), beta)
                if score > best[0] + 1e-9:
                    best = (score, c, float(t))
        score, c, t = best
        model = _fit(x, y, c)
        weights[:, j] = model.coef_[0]
        bias[j] = model.intercept_[0]
        thresholds[j] = t
        report[label] = {"rows": float(len(rows)), "examples": float(y.sum()), "c": c, "threshold": t,
                         "beta": beta, "oof_f": round(score, 3)}
    head = IntentHead(columns=columns, idf=idf, weights=weights, bias=bias, thresholds=thresholds,
                      meta={"version": 1, "words": WORD_SCHEME, "examples": len(examples), "min_df": MIN_DF})
    return head, report


def training_examples() -> list[Example]:
    """Every example the shipped head is trained on: the intent examples (``EXAMPLES`` and
    ``MORE_EXAMPLES``) and, as partial examples, the sentiment-labelled social posts."""
    examples = load_examples(EXAMPLES)
    for name in MORE_EXAMPLES:
        examples += load_examples(EXAMPLES.parent / name)
    return examples + sentiment_examples(SOCIAL_TRAIN)


@dataclass(frozen=True)
class LabelScore:
    label: str
    support: int
    precision: float
    recall: float
    f1: float


def score_labels(gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]],
                 labels: Sequence[str] = LABELS) -> list[LabelScore]:
    """Precision, recall and F1 per label, then a ``micro`` row over all of them."""
    rows = []
    totals = [0, 0, 0]
    for label in labels:
        tp = sum(label in g and label in p for g, p in zip(gold, predicted, strict=True))
        fp = sum(label not in g and label in p for g, p in zip(gold, predicted, strict=True))
        fn = sum(label in g and label not in p for g, p in zip(gold, predicted, strict=True))
        totals = [totals[0] + tp, totals[1] + fp, totals[2] + fn]
        rows.append(_row(label, tp, fp, fn))
    rows.append(_row("micro", *totals))
    return rows


def _row(label: str, tp: int, fp: int, fn: int) -> LabelScore:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return LabelScore(label, tp + fn, round(precision, 3), round(recall, 3), round(f1, 3))


EVALUATION = Path(__file__).resolve().parents[1] / "data" / "eval" / "intent_eval.jsonl"


@dataclass(frozen=True)
class SystemScores:
    """One enricher on the evaluation set: per-label scores, micro-F1 per language, and sentiment accuracy
    overall and per language (3 classes: a neutral answer to a polar post is wrong)."""

    labels: list[LabelScore]
    micro_by_language: dict[str, float]
    sentiment_accuracy: float
    sentiment_by_language: dict[str, float]
    n: int


def evaluate_intents(systems: dict[str, Enricher], path: Path) -> dict[str, SystemScores]:
    """Score each enricher's intents (and sarcasm flag) and sentiment on the labelled posts at ``path``
    (JSON lines: text, language, sentiment, intents)."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    gold = [tuple(r["intents"]) for r in rows]
    languages = sorted({r["language"] for r in rows})
    out = {}
    for name, enricher in systems.items():
        results = enricher.enrich([r["text"] for r in rows])
        predicted = [tuple(x.intents) + (("sarcasm",) if x.sarcasm else ()) for x in results]
        by_language = {}
        sentiment_by_language = {}
        for language in languages:
            idx = [i for i, r in enumerate(rows) if r["language"] == language]
            by_language[language] = score_labels([gold[i] for i in idx], [predicted[i] for i in idx])[-1].f1
            sentiment_by_language[language] = round(
                sum(results[i].sentiment.label == rows[i]["sentiment"] for i in idx) / len(idx), 3)
        accuracy = sum(x.sentiment.label == r["sentiment"] for x, r in zip(results, rows, strict=True)) / len(rows)
        out[name] = SystemScores(score_labels(gold, predicted), by_language, round(accuracy, 3),
                                 sentiment_by_language, len(rows))
    return out


def format_intent_scores(scores: dict[str, SystemScores], path: Path) -> str:
    """Markdown tables: precision / recall / F1 per label for every system side by side, then micro-F1
    and sentiment accuracy per language."""
    names = list(scores)
    first = scores[names[0]]
    lines = [f"{first.n} labelled posts from {path} (never trained or tuned on)", "",
             "| label | support | " + " | ".join(f"{n} P / R / F1" for n in names) + " |",
             "|---|---|" + "---|" * len(names)]
    for i, row in enumerate(first.labels):
        cells = [f"{scores[n].labels[i].precision:.2f} / {scores[n].labels[i].recall:.2f} / "
                 f"{scores[n].labels[i].f1:.2f}" for n in names]
        lines.append(f"| {row.label} | {row.support} | " + " | ".join(cells) + " |")
    lines += ["", "| language | " + " | ".join(f"{n} intents micro-F1 / sentiment acc" for n in names) + " |",
              "|---|" + "---|" * len(names)]
    for language in first.micro_by_language:
        cells = [f"{scores[n].micro_by_language[language]:.2f} / {scores[n].sentiment_by_language[language]:.2f}"
                 for n in names]
        lines.append(f"| {language} | " + " | ".join(cells) + " |")
    lines.append("| all | " + " | ".join(f"{scores[n].labels[-1].f1:.2f} / {scores[n].sentiment_accuracy:.2f}"
                                        for n in names) + " |")
    return "\n".join(lines)
