"""What enrichment says about a text (schema version 1). Frozen; every result carries the model stamp.

The label sets are part of the contract: alert rules, segments and analysts filter on these strings.
Labels are only ever added within a schema version (``purchased``, has bought: a lifecycle fact, not an
opportunity, came with the learned intent head), never renamed or removed.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SentimentLabel = Literal["negative", "neutral", "positive"]
Language = Literal["zh-Hans", "zh-Hant", "en", "mixed", "other"]
Intent = Literal[
    "complaint",
    "purchase_intent",
    "purchased",
    "recommendation_request",
    "question",
    "praise",
    "churn_threat",
]
INTENTS: tuple[Intent, ...] = (
    "complaint",
    "purchase_intent",
    "purchased",
    "recommendation_request",
    "question",
    "praise",
    "churn_threat",
)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ModelStamp(_Frozen):
    """Which model produced a result, so history can be re-scored by replay when it changes."""

    name: str
    version: str


class Sentiment(_Frozen):
    """Polarity of a text: ``score`` in [-1, 1] (negative to positive), ``confidence`` in [0, 1]."""

    label: SentimentLabel
    score: float = Field(ge=-1.0, le=1.0)
    confidence: float = Field(ge=0.0, le=1.0)


class Enrichment(_Frozen):
    """Everything enrichment knows about one text."""

    schema_version: Literal[1] = 1
    sentiment: Sentiment
    topics: tuple[str, ...] = ()
    intents: tuple[Intent, ...] = ()
    sarcasm: bool | None = None
    language: Language
    spam: float = Field(default=0.0, ge=0.0, le=1.0)
    model: ModelStamp
