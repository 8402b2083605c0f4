"""Scores on a small hand-labelled set (JSON lines: text, sentiment, topics, intents, spam[, sarcasm]).

Used by tests and docs to report intent/topic/spam quality honestly: the set is small and self-made.
"""

from __future__ import annotations

import json
from pathlib import Path

from enrichment.protocols import Enricher


def _micro_f1(gold: list[set[str]], pred: list[set[str]]) -> float:
    tp = sum(len(g & p) for g, p in zip(gold, pred, strict=True))
    fp = sum(len(p - g) for g, p in zip(gold, pred, strict=True))
    fn = sum(len(g - p) for g, p in zip(gold, pred, strict=True))
    return 2 * tp / max(1, 2 * tp + fp + fn)


def evaluate_labelled(enricher: Enricher, path: Path) -> dict[str, float]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    results = enricher.enrich([r["text"] for r in rows])
    spam_pred = [r.spam >= 0.5 for r in results]
    spam_gold = [bool(r["spam"]) for r in rows]
    tp = sum(p and g for p, g in zip(spam_pred, spam_gold, strict=True))
    return {
        "n": float(len(rows)),
        "sentiment_accuracy": sum(r["sentiment"] == x.sentiment.label for r, x in zip(rows, results, strict=True))
        / len(rows),
        "topics_micro_f1": _micro_f1([set(r["topics"]) for r in rows], [set(x.topics) for x in results]),
        "intents_micro_f1": _micro_f1([set(r["intents"]) for r in rows], [set(x.intents) for x in results]),
        "spam_precision": tp / max(1, sum(spam_pred)),
        "spam_recall": tp / max(1, sum(spam_gold)),
    }
