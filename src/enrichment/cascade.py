"""The sentiment cascade: the fast head answers when it is confident, multilingual-e5-small otherwise.

``SecondStage.refine`` takes the fast head's class probabilities for a batch, sends the texts whose top
probability is below ``threshold`` and that are short (at most ``max_tokens`` e5 tokens, not blank) through
the ONNX e5 encoder, and replaces their probabilities with the ``CascadeHead``'s. Short texts are where the
fast head is weakest (little n-gram evidence) and the encoder cheapest; on long reviews the fast head beats
the encoder, which only reads the first 256 tokens. A text's route and score depend on the text alone,
never on the rest of its batch. The head is a multinomial logistic regression over the e5
embedding and the fast head's log-probabilities, so it corrects the fast head instead of ignoring it; its
weights are a few kilobytes (``data/sentiment-e5-cascade-v1.npz``, rebuilt by ``scrm models train --model
cascade``). The threshold and the length limit set the cost: the e5 tokens per text routed times the encoder's speed (see
docs/enrichment.md, "Cascade"). Pure given its parts; thread-safe; never raises on text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from enrichment.exceptions import EnrichmentError
from enrichment.sentiment_model import CLASSES, _softmax, read_head, write_head

if TYPE_CHECKING:
    from enrichment.e5_onnx import OnnxE5Encoder

HEAD_VERSION = 1


@dataclass(frozen=True)
class CascadeHead:
    """``weights`` ((dim + 3) x 3) and ``bias`` (3) over [e5 embedding | log P_fast]; ``meta`` names the
    encoder it was trained on, its version and the training sets."""

    weights: np.ndarray
    bias: np.ndarray
    meta: dict[str, object]

    @property
    def encoder(self) -> str:
        return str(self.meta.get("encoder", ""))

    def predict_proba(self, vectors: np.ndarray, fast_probs: np.ndarray) -> np.ndarray:
        """Probabilities over ``CLASSES`` for each row (rows sum to 1)."""
        x = features(vectors, fast_probs)
        return _softmax(x @ self.weights + self.bias)

    def save(self, path: Path) -> None:
        write_head(path, self.meta, weights=self.weights.astype(np.float32), bias=self.bias.astype(np.float32))

    @classmethod
    def load(cls, path: Path) -> CascadeHead:
        arrays, meta = read_head(path, ("weights", "bias"), what="cascade head",
                                 build="scrm models train --model cascade")
        if arrays["weights"].shape[1] != len(CLASSES):
            raise EnrichmentError(f"cascade head {path} has {arrays['weights'].shape[1]} outputs, not {len(CLASSES)}")
        return cls(weights=arrays["weights"], bias=arrays["bias"], meta=meta)


def features(vectors: np.ndarray, fast_probs: np.ndarray) -> np.ndarray:
    """The stage-2 input rows: the L2-normalised embedding, then the fast head's log-probabilities."""
    return np.hstack([vectors, np.log(np.clip(fast_probs, 1e-6, 1.0))]).astype(np.float32)


class SecondStage:
    """The encoder, its head, the confidence below which the fast head's answer is re-scored and the longest
    text (in e5 tokens, with the ``query:`` prefix and the two special tokens) that is."""

    def __init__(self, encoder: OnnxE5Encoder, head: CascadeHead, threshold: float, max_tokens: int) -> None:
        if head.encoder and head.encoder != encoder.name:
            raise EnrichmentError(f"cascade head was trained on {head.encoder!r}, not {encoder.name!r}: retrain it")
        self.encoder = encoder
        self.head = head
        self.threshold = threshold
        self.max_tokens = max_tokens

    def _routed(self, texts: Sequence[str], probs: np.ndarray) -> tuple[list[int], list[list[int]]]:
        unsure = [i for i in np.flatnonzero(probs.max(axis=1) < self.threshold).tolist() if texts[i].strip()]
        ids = self.encoder.token_ids([texts[i] for i in unsure]) if unsure else []
        keep = [k for k, row in enumerate(ids) if len(row) <= self.max_tokens]
        return [unsure[k] for k in keep], [ids[k] for k in keep]

    def routed(self, texts: Sequence[str], probs: np.ndarray) -> np.ndarray:
        """Indices of the texts the second stage scores: not blank, at most ``max_tokens`` long, and the
        fast head less sure than the threshold."""
        return np.array(self._routed(texts, probs)[0], dtype=np.int64)

    def refine(self, texts: Sequence[str], probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(probabilities with the routed rows re-scored, the routed indices)."""
        rows, ids = self._routed(texts, probs)
        index = np.array(rows, dtype=np.int64)
        if not rows:
            return probs, index
        out = probs.copy()
        out[index] = self.head.predict_proba(self.encoder.embed_ids(ids), probs[index])
        return out, index
