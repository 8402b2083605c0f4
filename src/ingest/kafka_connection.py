"""How every Kafka client of the platform reaches a cluster: bootstrap servers, security (TLS, SASL PLAIN or
SCRAM) and how created topics are replicated. One model, rendered for both client libraries the platform
uses (librdkafka through confluent-kafka for the runtime, kafka-python for simple publishing and topic
administration), so a managed or secured cluster is configured once.

Settings classes embed ``KafkaConnection`` as ``kafka`` and read it from ``SCRM_KAFKA__*`` variables, e.g.
``SCRM_KAFKA__SECURITY_PROTOCOL=SASL_SSL``, ``SCRM_KAFKA__SASL_MECHANISM=SCRAM-SHA-512``,
``SCRM_KAFKA__SASL_USERNAME``, ``SCRM_KAFKA__SASL_PASSWORD``, ``SCRM_KAFKA__SSL_CA_LOCATION=/etc/kafka/ca.pem``,
``SCRM_KAFKA__REPLICATION_FACTOR=3``, ``SCRM_KAFKA__MIN_INSYNC_REPLICAS=2``; the bootstrap servers stay in
``SCRM_KAFKA_BOOTSTRAP``. Defaults are a local single-broker cluster: plaintext, replication factor 1.
The password and key password are ``SecretStr``: never in a repr, a log line or an error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


class KafkaConnection(BaseModel):
    """Security and topic-replication settings of a Kafka cluster (everything but the bootstrap servers).

    Raises ``ValueError`` (pydantic ``ValidationError``) for a SASL protocol without mechanism, user name and
    password, SASL or TLS settings with a protocol that does not use them, a certificate without its key,
    or ``min_insync_replicas`` above ``replication_factor``."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    security_protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_ca_location: Path | None = Field(default=None, description="PEM file of the CA that signed the brokers")
    ssl_certificate_location: Path | None = Field(default=None, description="client certificate (mutual TLS)")
    ssl_key_location: Path | None = Field(default=None, description="the client certificate's private key")
    ssl_key_password: SecretStr | None = None
    replication_factor: int = Field(default=1, ge=1, description="of the topics `scrm worker` creates")
    min_insync_replicas: int | None = Field(
        default=None, ge=1, description="of created topics; with acks=all a write needs this many replicas"
    )

    @model_validator(mode="after")
    def _consistent(self) -> KafkaConnection:
        sasl = self.security_protocol.startswith("SASL_")
        tls = self.security_protocol.endswith("SSL")
        if sasl and not (self.sasl_mechanism and self.sasl_username and self.sasl_password):
            raise ValueError(f"security_protocol {self.security_protocol} needs sasl_mechanism, sasl_username "
                             "and sasl_password")
        if not sasl and (self.sasl_mechanism or self.sasl_username or self.sasl_password):
            raise ValueError(f"SASL settings are given but security_protocol is {self.security_protocol}")
        files = (self.ssl_ca_location, self.ssl_certificate_location, self.ssl_key_location)
        if not tls and any(files):
            raise ValueError(f"TLS files are given but security_protocol is {self.security_protocol}")
        if (self.ssl_certificate_location is None) != (self.ssl_key_location is None):
            raise ValueError("ssl_certificate_location and ssl_key_location go together (mutual TLS)")
        if self.min_insync_replicas is not None and self.min_insync_replicas > self.replication_factor:
            raise ValueError("min_insync_replicas cannot exceed replication_factor")
        return self

    def librdkafka(self, bootstrap: str) -> dict[str, Any]:
        """The connection part of a confluent-kafka (librdkafka) client config."""
        config: dict[str, Any] = {"bootstrap.servers": bootstrap, "security.protocol": self.security_protocol}
        if self.sasl_mechanism is not None:
            config["sasl.mechanism"] = self.sasl_mechanism
            config["sasl.username"] = self.sasl_username
            config["sasl.password"] = self.sasl_password.get_secret_value() if self.sasl_password else None
        for key, path in (("ssl.ca.location", self.ssl_ca_location),
                          ("ssl.certificate.location", self.ssl_certificate_location),
                          ("ssl.key.location", self.ssl_key_location)):
            if path is not None:
                config[key] = str(path)
        if self.ssl_key_password is not None:
            config["ssl.key.password"] = self.ssl_key_password.get_secret_value()
        return config

    def kafka_python(self, bootstrap: str) -> dict[str, Any]:
        """The connection keyword arguments of a kafka-python client (producer or admin)."""
        config: dict[str, Any] = {"bootstrap_servers": bootstrap, "security_protocol": self.security_protocol}
        if self.sasl_mechanism is not None:
            config["sasl_mechanism"] = self.sasl_mechanism
            config["sasl_plain_username"] = self.sasl_username
            config["sasl_plain_password"] = self.sasl_password.get_secret_value() if self.sasl_password else None
        for key, path in (("ssl_cafile", self.ssl_ca_location), ("ssl_certfile", self.ssl_certificate_location),
                          ("ssl_keyfile", self.ssl_key_location)):
            if path is not None:
                config[key] = str(path)
        if self.ssl_key_password is not None:
            config["ssl_password"] = self.ssl_key_password.get_secret_value()
        return config

    def topic_config(self) -> dict[str, str]:
        """Broker-side settings every created topic gets (``min.insync.replicas`` when set)."""
        if self.min_insync_replicas is None:
            return {}
        return {"min.insync.replicas": str(self.min_insync_replicas)}
