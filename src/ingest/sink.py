"""``IntakeSink``: where receivers put what they accepted, before they answer the sender.

A receiver (a platform webhook, the generic ingest route, the 微信客服 pull) answers 200 only after
``accept`` returned: from then on the records survive the process. Events go to ``scrm.events.raw``, dead
letters to ``scrm.deadletter`` (Kafka runtime: acknowledged by all in-sync replicas; embedded runtime:
committed to the on-disk intake journal the pipeline drains). Implementations live with their runtime
(``streams``); receivers only know this protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ingest.contracts import SocialEvent
from ingest.deadletter import DeadLetter


class IntakeSink(Protocol):
    """Durable intake of events and dead letters; thread-safe (many requests share one sink)."""

    def accept(self, records: Sequence[SocialEvent | DeadLetter]) -> None:
        """Return once every record is durable. Blocks (briefly); raises ``IntakeUnavailable`` when that
        cannot be promised (then some may be durable already: at least once, idempotent by event id)."""
        ...
