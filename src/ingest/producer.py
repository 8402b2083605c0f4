"""Publishing raw event bytes to ``scrm.events.raw`` with kafka-python.

Values are sent exactly as given, even when they do not parse: rejecting is the consumer's job, which
dead-letters them with their original bytes. The key is the identity key when the value names one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from kafka import KafkaProducer

from ingest.kafka_connection import KafkaConnection

RAW_EVENTS_TOPIC = "scrm.events.raw"


def partition_key(value: bytes) -> bytes | None:
    """``<platform>:<author.id>`` of a raw event, or ``None`` when the value does not say."""
    try:
        payload = json.loads(value)
        return f"{payload['platform']}:{payload['author']['id']}".encode()
    except (ValueError, KeyError, TypeError):
        return None


def publish_raw(
    bootstrap: str, values: Iterable[bytes], *, topic: str = RAW_EVENTS_TOPIC, connection: KafkaConnection | None = None
) -> int:
    """Send every value, wait until the broker acknowledged all (acks=all); returns how many. ``connection``
    secures the client (default plaintext). Blocks; raises kafka-python errors on failure."""
    connection = connection or KafkaConnection()
    producer = KafkaProducer(acks="all", linger_ms=20, retries=5, **connection.kafka_python(bootstrap))
    try:
        count = 0
        futures = []
        for value in values:
            futures.append(producer.send(topic, key=partition_key(value), value=value))
            count += 1
        producer.flush()
        for future in futures:
            future.get(timeout=30)
        return count
    finally:
        producer.close()
