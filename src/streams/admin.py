"""Creating the platform's topics with kafka-python's admin client (sources are never auto-created by the runtime)."""

from __future__ import annotations

import contextlib

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

from ingest.kafka_connection import KafkaConnection
from streams.topics import TOPIC_SPECS


def ensure_topics(bootstrap: str, partitions: int, connection: KafkaConnection | None = None) -> list[str]:
    """Create every topic in ``TOPIC_SPECS`` that is missing, replicated and secured per ``connection``
    (default: a local plaintext cluster, replication factor 1); returns the names created. Existing topics are
    left as they are. Idempotent; blocks; raises kafka-python errors when the broker is unreachable."""
    connection = connection or KafkaConnection()
    admin = KafkaAdminClient(client_id="scrm-admin", **connection.kafka_python(bootstrap))
    try:
        existing = set(admin.list_topics())
        missing = [
            NewTopic(spec.name, spec.partitions or partitions, connection.replication_factor,
                     topic_configs={**connection.topic_config(), **dict(spec.config)})
            for spec in TOPIC_SPECS
            if spec.name not in existing
        ]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(missing)
        return [topic.name for topic in missing]
    finally:
        admin.close()


class BrokerCheck:
    """Readiness of the Kafka cluster as one client sees it: ``problems()`` is empty when the cluster answers a
    metadata request within ``timeout_s``. One long-lived client; thread-safe; blocks at most ``timeout_s``."""

    def __init__(self, bootstrap: str, connection: KafkaConnection | None = None, *, timeout_s: float = 2.0) -> None:
        self._admin = AdminClient((connection or KafkaConnection()).librdkafka(bootstrap))
        self._timeout = timeout_s

    def problems(self) -> list[str]:
        try:
            self._admin.list_topics(timeout=self._timeout)
        except KafkaException as exc:
            return [f"kafka: no metadata within {self._timeout:g} s ({exc.args[0].str() if exc.args else exc})"]
        return []
