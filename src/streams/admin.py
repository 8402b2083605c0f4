"""Creating the platform's topics with kafka-python's admin client (sources are never auto-created by the
runtime), and keeping their time retention in step with the retention policy (librdkafka's admin client)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, ResourceType
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

from ingest.kafka_connection import KafkaConnection
from streams.steps.retention import RetentionPolicy
from streams.topics import TOPIC_SPECS, TopicSpec

RETENTION_KEY = "retention.ms"
ADMIN_TIMEOUT_S = 15.0


def ensure_topics(bootstrap: str, partitions: int, connection: KafkaConnection | None = None, *,
                  retention: RetentionPolicy | None = None, specs: Sequence[TopicSpec] = TOPIC_SPECS) -> list[str]:
    """Create every topic of ``specs`` that is missing, replicated and secured per ``connection`` (default: a
    local plaintext cluster, replication factor 1), with the ``retention.ms`` that ``retention`` (default: the
    default policy) gives it; returns the names created. Existing topics are left as they are (see
    ``align_retention``). Idempotent; blocks; raises kafka-python errors when the broker is unreachable."""
    connection = connection or KafkaConnection()
    retention = retention or RetentionPolicy()
    admin = KafkaAdminClient(client_id="scrm-admin", **connection.kafka_python(bootstrap))
    try:
        existing = set(admin.list_topics())
        missing = [
            NewTopic(spec.name, spec.partitions or partitions, connection.replication_factor,
                     topic_configs={**connection.topic_config(), **spec.configs(retention)})
            for spec in specs
            if spec.name not in existing
        ]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(missing)
        return [topic.name for topic in missing]
    finally:
        admin.close()


def align_retention(bootstrap: str, retention: RetentionPolicy, connection: KafkaConnection | None = None, *,
                    specs: Sequence[TopicSpec] = TOPIC_SPECS) -> list[str]:
    """Set ``retention.ms`` on each existing, non-compacted topic of ``specs`` whose value differs from what
    ``retention`` gives it (an incremental alter: no other setting of the topic changes); returns the names
    altered. Missing topics are skipped (``ensure_topics`` creates them). Idempotent; blocks up to
    ``ADMIN_TIMEOUT_S`` per request; raises ``KafkaException`` when the broker refuses or does not answer."""
    admin = AdminClient((connection or KafkaConnection()).librdkafka(bootstrap))
    existing = set(admin.list_topics(timeout=ADMIN_TIMEOUT_S).topics)
    wanted = {spec.name: spec.configs(retention)[RETENTION_KEY] for spec in specs
              if spec.name in existing and RETENTION_KEY in spec.configs(retention)}
    if not wanted:
        return []
    described = admin.describe_configs([ConfigResource(ResourceType.TOPIC, name) for name in sorted(wanted)])
    stale = []
    for resource, future in described.items():
        entry = future.result(timeout=ADMIN_TIMEOUT_S).get(RETENTION_KEY)
        if entry is None or entry.value != wanted[resource.name]:
            stale.append(resource.name)
    if not stale:
        return []
    changes = [ConfigResource(ResourceType.TOPIC, name, incremental_configs=[ConfigEntry(
        RETENTION_KEY, wanted[name], incremental_operation=AlterConfigOpType.SET)]) for name in stale]
    for future in admin.incremental_alter_configs(changes).values():
        future.result(timeout=ADMIN_TIMEOUT_S)
    return sorted(stale)


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
