"""Contracts of the stream's own topics.

``EnrichedEvent`` (schema version 1) is the value on ``scrm.events.enriched``, keyed by ``customer_id``.
``SourceMark`` (added in version 1: an event without it is as valid as before) says where on
``scrm.events.raw`` the event came from and how far that partition had got in event time with it: the
alert lane's watermark (``streams.steps.watermark``) is built from these marks, so it survives the
reshuffle from raw partitions (keyed by account) to enriched ones (keyed by customer).
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict

from enrichment.contracts import Enrichment
from ingest.contracts import SocialEvent


class SourceMark(BaseModel):
    """The raw partition an event was read from, and the latest event time the enrich lane had read from
    that partition up to and including it (since it started or rewound)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    partition: int
    through: AwareDatetime


class EnrichedEvent(BaseModel):
    """A social event with the customer it belongs to and what enrichment said about its text."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: Literal[1] = 1
    customer_id: str
    event: SocialEvent
    enrichment: Enrichment
    source: SourceMark | None = None

    @property
    def event_id(self) -> str:
        return self.event.event_id
