"""``build_enricher``: the one entry point the stream and API use to get an ``Enricher``.

Blocking (loads weights; a few seconds at most), cached per process and config: calling it twice with the
same config returns the same object. Raises ``EnrichmentError`` with a clear message when a package or
weight file is missing; never downloads anything.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from enrichment.config import EnrichmentConfig
from enrichment.contracts import ModelStamp
from enrichment.exceptions import EnrichmentError
from enrichment.protocols import Enricher

if TYPE_CHECKING:
    from enrichment.cascade import SecondStage

SHIPPED_DIR = Path(__file__).resolve().parent / "data"
HEAD_FILES = {"fast": "sentiment-fast-v1.npz", "e5": "sentiment-e5-v1.npz", "transformers": "sentiment-hf-v1.npz"}
INTENT_HEAD_FILE = "intents-v1.npz"
CASCADE_HEAD_FILE = "sentiment-e5-cascade-v1.npz"
VERSION = "1"


def head_path(config: EnrichmentConfig) -> Path:
    """Where the head for ``config.model`` is read from: ``heads_dir`` first, then the shipped data dir."""
    return _head_file(HEAD_FILES[config.model], config)


def intent_head_path(config: EnrichmentConfig) -> Path:
    """Where the intent head is read from: ``heads_dir`` first, then the shipped data dir."""
    return _head_file(INTENT_HEAD_FILE, config)


def _head_file(name: str, config: EnrichmentConfig) -> Path:
    if config.heads_dir is not None and (config.heads_dir / name).is_file():
        return config.heads_dir / name
    return SHIPPED_DIR / name


def cascade_head_path(config: EnrichmentConfig) -> Path:
    """Where the cascade's second-stage head is read from: ``heads_dir`` first, then the shipped data dir."""
    return _head_file(CASCADE_HEAD_FILE, config)


def make_second_stage(config: EnrichmentConfig) -> SecondStage | None:
    """The fast model's e5 second stage, or None when the cascade is off (``cascade_threshold=0``). Builds the
    ONNX encoder on first use (a few seconds, cached; ``scrm models build-encoder`` does it ahead)."""
    if config.model != "fast" or config.cascade_threshold <= 0:
        return None
    from enrichment.cascade import CascadeHead, SecondStage
    from enrichment.e5_onnx import OnnxE5Encoder

    head = CascadeHead.load(cascade_head_path(config))
    return SecondStage(OnnxE5Encoder(), head, config.cascade_threshold, config.cascade_max_tokens)


def make_embedder(config: EnrichmentConfig):  # type: ignore[no-untyped-def]
    from enrichment.embedders import E5Embedder, StaticEmbedder, TransformersEmbedder

    if config.model == "fast":
        return StaticEmbedder()
    if config.model == "e5":
        return E5Embedder()
    if config.model_path is None:
        raise EnrichmentError("model='transformers' needs model_path pointing at a local Hugging Face model dir")
    return TransformersEmbedder(config.model_path)


@lru_cache(maxsize=4)
def build_enricher(config: EnrichmentConfig | None = None) -> Enricher:
    """The enricher ``config`` selects (defaults: the ``fast`` model), loaded and warmed up: the first
    real batch is as fast as any other. Blocks for a few seconds; raises ``EnrichmentError``."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    config = config or EnrichmentConfig()
    from enrichment.topics import TopicMatcher, load_topics

    topics = load_topics(config.topics_file)
    if config.model == "lexicon":
        from enrichment.lexicon import LexiconEnricher

        return LexiconEnricher({t.id: t.keywords for t in topics})
    from enrichment.intent_model import IntentHead
    from enrichment.linear import LinearEnricher
    from enrichment.sentiment_model import LinearHead

    path = head_path(config)
    if not path.is_file():
        raise EnrichmentError(
            f"no sentiment head for model={config.model!r} at {path}: run `scrm models train --model "
            f"{config.model}`" + (" --model-path DIR" if config.model == "transformers" else "")
        )
    head = LinearHead.load(path)
    embedder = make_embedder(config)
    if head.embedder and head.embedder != embedder.name:
        raise EnrichmentError(f"head {path} was trained on {head.embedder!r}, not {embedder.name!r}: retrain it")
    matcher = TopicMatcher.build(topics, embedder.embed, config.topic_threshold)
    intent_head = IntentHead.load(intent_head_path(config))
    second = make_second_stage(config)
    cascade = (f"+c{second.head.meta.get('version', '?')}@{second.threshold:g}/{second.max_tokens}"
               if second is not None else "")
    stamp = ModelStamp(name=f"scrm-{config.model}:{embedder.name}",
                       version=f"{VERSION}+{head.meta.get('version', '?')}+i{intent_head.meta.get('version', '?')}"
                               f"{cascade}")
    enricher = LinearEnricher(head=head, intent_head=intent_head, embedder=embedder, topics=matcher, stamp=stamp,
                              batch_size=config.batch_size, convert_traditional=config.convert_traditional,
                              second_stage=second)
    enricher.enrich(["warm-up 预热"])  # load lazy imports and caches now, not inside the first live batch
    return enricher
