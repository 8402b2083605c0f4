"""One Kafka connection model for both client libraries: secured clusters configure once, secrets stay hidden.

Option names: librdkafka CONFIGURATION.md (security.protocol, sasl.mechanism, sasl.username, sasl.password,
ssl.ca.location, ssl.certificate.location, ssl.key.location, ssl.key.password) and kafka-python's
KafkaProducer / KafkaAdminClient keyword arguments (security_protocol, sasl_mechanism, sasl_plain_username,
sasl_plain_password, ssl_cafile, ssl_certfile, ssl_keyfile, ssl_password).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from ingest.kafka_connection import KafkaConnection
from streams.settings import WorkerSettings


def test_the_default_is_a_local_plaintext_single_replica_cluster() -> None:
    connection = KafkaConnection()
    assert connection.librdkafka("b:9092") == {"bootstrap.servers": "b:9092", "security.protocol": "PLAINTEXT"}
    assert connection.kafka_python("b:9092") == {"bootstrap_servers": "b:9092", "security_protocol": "PLAINTEXT"}
    assert (connection.replication_factor, connection.topic_config()) == (1, {})


def test_sasl_scram_over_tls_renders_for_both_clients() -> None:
    connection = KafkaConnection(security_protocol="SASL_SSL", sasl_mechanism="SCRAM-SHA-512", sasl_username="svc",
                                 sasl_password="s3cret", ssl_ca_location=Path("/etc/kafka/ca.pem"),
                                 replication_factor=3, min_insync_replicas=2)
    assert connection.librdkafka("k:9093") == {
        "bootstrap.servers": "k:9093", "security.protocol": "SASL_SSL", "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "svc", "sasl.password": "s3cret", "ssl.ca.location": "/etc/kafka/ca.pem"}
    assert connection.kafka_python("k:9093") == {
        "bootstrap_servers": "k:9093", "security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "svc", "sasl_plain_password": "s3cret", "ssl_cafile": "/etc/kafka/ca.pem"}
    assert connection.topic_config() == {"min.insync.replicas": "2"}
    assert "s3cret" not in repr(connection) and "s3cret" not in str(connection)


def test_mutual_tls_files_and_key_password() -> None:
    connection = KafkaConnection(security_protocol="SSL", ssl_certificate_location=Path("/c.pem"),
                                 ssl_key_location=Path("/k.pem"), ssl_key_password="kp")
    assert connection.librdkafka("k:1")["ssl.key.password"] == "kp"
    assert connection.kafka_python("k:1")["ssl_certfile"] == "/c.pem"


@pytest.mark.parametrize("fields", [
    {"security_protocol": "SASL_SSL", "sasl_mechanism": "PLAIN", "sasl_username": "u"},  # no password
    {"security_protocol": "PLAINTEXT", "sasl_mechanism": "PLAIN", "sasl_username": "u", "sasl_password": "p"},
    {"security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "PLAIN", "sasl_username": "u", "sasl_password": "p",
     "ssl_ca_location": "/ca.pem"},
    {"security_protocol": "SSL", "ssl_certificate_location": "/c.pem"},  # a certificate without its key
    {"replication_factor": 1, "min_insync_replicas": 2},
])
def test_inconsistent_settings_are_refused_without_echoing_secrets(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError) as caught:
        KafkaConnection(**fields)  # type: ignore[arg-type]
    assert "'p'" not in str(caught.value)


def test_workers_read_it_from_scrm_kafka_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCRM_KAFKA_BOOTSTRAP", "broker:9094")
    monkeypatch.setenv("SCRM_KAFKA__SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("SCRM_KAFKA__SASL_MECHANISM", "PLAIN")
    monkeypatch.setenv("SCRM_KAFKA__SASL_USERNAME", "worker")
    monkeypatch.setenv("SCRM_KAFKA__SASL_PASSWORD", "pw")
    monkeypatch.setenv("SCRM_KAFKA__REPLICATION_FACTOR", "3")
    settings = WorkerSettings()
    assert settings.kafka_bootstrap == "broker:9094"
    assert settings.kafka.librdkafka(settings.kafka_bootstrap)["sasl.username"] == "worker"
    assert settings.kafka.replication_factor == 3


def test_a_bad_worker_setting_does_not_print_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCRM_KAFKA__SECURITY_PROTOCOL", "PLAINTEXT")
    monkeypatch.setenv("SCRM_KAFKA__SASL_MECHANISM", "PLAIN")
    monkeypatch.setenv("SCRM_KAFKA__SASL_USERNAME", "worker")
    monkeypatch.setenv("SCRM_KAFKA__SASL_PASSWORD", "hunter2-secret")
    with pytest.raises(ValidationError) as caught:
        WorkerSettings()
    assert "SASL settings are given" in str(caught.value)
    assert "hunter2-secret" not in str(caught.value)
