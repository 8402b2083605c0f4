"""``SourceRecord``: raw bytes plus where they came from (topic, partition, offset, key) and when the topic
appended them.

Kafka metadata travels beside the payload, never inside it; both runtimes hand steps these records.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One message as received, before decoding."""

    value: bytes
    topic: str
    partition: int | None = None
    offset: int | None = None
    key: bytes | None = None
    appended_at: float | None = None
    """Unix seconds when the message was appended to its topic (Kafka's message timestamp; the embedded
    topics' append time): how long records wait for a lane is measured from it."""
