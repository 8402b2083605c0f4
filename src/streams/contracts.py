"""Contracts of the stream's own topics.

``EnrichedEvent`` (schema version 1) is the value on ``scrm.events.enriched``, keyed by ``customer_id``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from enrichment.contracts import Enrichment
from ingest.contracts import SocialEvent


class EnrichedEvent(BaseModel):
    """A social event with the customer it belongs to and what enrichment said about its text."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    customer_id: str
    event: SocialEvent
    enrichment: Enrichment

    @property
    def event_id(self) -> str:
        return self.event.event_id
