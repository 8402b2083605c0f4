"""Creating the platform's topics with kafka-python's admin client (sources are never auto-created by the runtime)."""

from __future__ import annotations

import contextlib

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError

from streams.topics import TOPIC_SPECS


def ensure_topics(bootstrap: str, partitions: int) -> list[str]:
    """Create every topic in ``TOPIC_SPECS`` that is missing; returns the names created. Idempotent;
    blocks; raises kafka-python errors when the broker is unreachable."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="scrm-admin")
    try:
        existing = set(admin.list_topics())
        missing = [
            NewTopic(spec.name, spec.partitions or partitions, 1, topic_configs=dict(spec.config))
            for spec in TOPIC_SPECS
            if spec.name not in existing
        ]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(missing)
        return [topic.name for topic in missing]
    finally:
        admin.close()
