"""Transports: what a lane loop consumes from, publishes to and commits on.

``Transport`` is the whole contract between the lane loop (``streams.loop``) and a message system: consume a
batch of ``SourceRecord``s, publish ``Outgoing`` messages durably, commit past the records handled. Two
implementations: ``kafka`` (librdkafka consumer + idempotent producer) and ``memory`` (the embedded
runtime's in-process topics, with the same at-least-once semantics: an uncommitted record is delivered
again after ``rewind``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ingest.records import SourceRecord


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message to publish: topic, key, value (``None`` value = tombstone)."""

    topic: str
    key: bytes | None
    value: bytes | None


class Transport(Protocol):
    """One lane's view of its input topic (as one consumer of a group) and of every output topic."""

    def consume(self, most: int, timeout: float) -> list[SourceRecord]:
        """Up to ``most`` records: returns once ``most`` are waiting or ``timeout`` seconds have passed, with
        what came (possibly nothing). Raises on a fatal transport error."""
        ...

    def publish(self, messages: Sequence[Outgoing]) -> None:
        """Send ``messages`` and return only once every one is durable. Raises ``PublishFailed`` otherwise
        (retrying may publish some twice: at least once)."""
        ...

    def commit(self, records: Sequence[SourceRecord]) -> None:
        """Mark every partition's input as handled up to and including its last record in ``records``."""
        ...

    def rewind(self) -> None:
        """Forget what was consumed but not committed: the next ``consume`` starts again from the committed
        positions (after a batch failed)."""
        ...

    def has_partitions(self) -> bool:
        """Whether the group currently assigns this consumer any partition."""
        ...

    def waiting(self) -> int:
        """Records on this consumer's partitions beyond what it has consumed (its lag, without the batch in
        hand). Cheap (no broker round trip; Kafka's high watermarks as of the last fetch)."""
        ...

    def close(self) -> None:
        """Release the consumer and flush the producer."""
        ...
