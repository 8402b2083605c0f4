"""Alert contracts (schema version 1).

``ScoredPost`` is what detectors look at: an event plus the scores the stream attached to it — alerts'
own noun, so detectors depend on nothing but ``ingest``. ``Alert`` is the value on ``scrm.alerts``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ingest.contracts import SocialEvent

AlertKind = Literal["crisis", "opportunity"]
AlertState = Literal["open", "acknowledged", "resolved"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ScoredPost(_Frozen):
    """An event with its customer and enrichment, flattened to what detectors need."""

    customer_id: str
    event: SocialEvent
    sentiment_label: str
    sentiment_score: float
    sentiment_confidence: float
    topics: tuple[str, ...] = ()
    intents: tuple[str, ...] = ()
    language: str = "other"
    author_influence: float = 0.0
    author_lifecycle: str = "prospect"


class Alert(_Frozen):
    """Something an agent should look at. ``alert_id`` is deterministic (rule + dedup key), so a replayed
    event re-creates the same alert instead of a new one."""

    schema_version: Literal[1] = 1
    alert_id: str
    rule: str
    kind: AlertKind
    severity: int = Field(ge=1, le=5)
    title: str
    dedup_key: str
    customer_id: str | None = None
    event_id: str
    platform: str
    brand: str | None = None
    occurred_at: datetime
    evidence: dict[str, Any] = Field(default_factory=dict)
    state: AlertState = "open"
