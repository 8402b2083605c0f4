"""Wiring erasure (``streams.erasure``) into the two runtimes: what ``DELETE /v1/customers/{id}`` and
``scrm erase`` call. Composition only."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from profile_store.contracts import ErasureRecord
from profile_store.privacy import PrivacyKey
from streams.erasure import erase, verify
from streams.runtimes.embedded import EmbeddedRuntime
from streams.storage import Storage
from streams.transports import Outgoing

Erase = Callable[[str, str, str | None], ErasureRecord | None]
Verify = Callable[[str], tuple[bool, dict[str, int], list[ErasureRecord]]]


def embedded_erasure(runtime: EmbeddedRuntime, storage: Storage) -> tuple[Erase, Verify]:
    """Erasure on the embedded runtime: run between two batches on the processing thread (no lane
    transaction interleaves), tombstones onto its in-process topics."""

    def run(subject: str, requested_by: str, reason: str | None) -> ErasureRecord | None:
        return runtime.between_batches(lambda: erase(subject, storage=storage, privacy=runtime.privacy,
                                                     requested_by=requested_by, reason=reason, publish=runtime.emit))

    return run, _verifier(storage, runtime.privacy)


def embedded_erasure_offline(storage: Storage, privacy: PrivacyKey) -> tuple[Erase, Verify]:
    """Erasure of a data dir no process runs (``scrm erase --data-dir``): its in-process topics are gone with
    the process that had them, so there is nothing to tombstone."""

    def run(subject: str, requested_by: str, reason: str | None) -> ErasureRecord | None:
        return erase(subject, storage=storage, privacy=privacy, requested_by=requested_by, reason=reason)

    return run, _verifier(storage, privacy)


def kafka_erasure(storage: Storage, privacy: PrivacyKey, producer_config: dict[str, Any]) -> tuple[Erase, Verify]:
    """Erasure on the Kafka runtime: the lanes of other processes wait for it through the database (see
    ``streams.erasure``); tombstones are produced with the lanes' partitioner, so each lands on its key's
    partition."""

    def publish(messages: Sequence[Outgoing]) -> None:
        from streams.transports.kafka import KafkaTransport

        transport = KafkaTransport.producer_only(producer_config)
        try:
            transport.publish(messages)
        finally:
            transport.close()

    def run(subject: str, requested_by: str, reason: str | None) -> ErasureRecord | None:
        return erase(subject, storage=storage, privacy=privacy, requested_by=requested_by, reason=reason,
                     publish=publish)

    return run, _verifier(storage, privacy)


def _verifier(storage: Storage, privacy: PrivacyKey) -> Verify:
    def check(subject: str) -> tuple[bool, dict[str, int], list[ErasureRecord]]:
        found = verify(subject, storage=storage, privacy=privacy)
        return found.subject_listed, found.traces, found.erasures

    return check


def producer_config(librdkafka: dict[str, Any], client_id: str) -> dict[str, Any]:
    """What the tombstones are produced with: acknowledged by every replica, the Java client's partitioner."""
    return {**librdkafka, "client.id": client_id, "acks": "all", "enable.idempotence": True,
            "partitioner": "murmur2_random"}
