"""The ``DeadLetter`` contract (schema version 1): input that could not be processed, kept whole.

Published to ``scrm.deadletter`` (Kafka runtime) or stored in the dead-letter table (embedded runtime).
``original`` is the exact bytes received (base64 in JSON), so a fixed consumer can replay it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict


class DeadLetter(BaseModel):
    """One rejected input with the reason and where it came from."""

    model_config = ConfigDict(frozen=True, extra="forbid", ser_json_bytes="base64", val_json_bytes="base64")

    schema_version: Literal[1] = 1
    original: bytes
    key: bytes | None = None
    error: str
    field: str | None = None
    stage: str
    source_topic: str
    partition: int | None = None
    offset: int | None = None
    failed_at: datetime
