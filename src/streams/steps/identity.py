"""Identity step: which customer an event belongs to.

A known identity key resolves through the assignment table (kept by the identity service from links);
an unknown one gets a deterministic ``customer_id`` — uuid5 of the identity key — so workers create
customers without coordinating.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from ingest.contracts import SocialEvent

CUSTOMER_NAMESPACE = uuid.UUID("6f1d3c2e-5b8a-4c59-9a8e-2f4b7d1e0c11")


def new_customer_id(identity_key: str) -> str:
    """The customer id a brand-new identity gets: uuid5 of its identity key. Deterministic."""
    return str(uuid.uuid5(CUSTOMER_NAMESPACE, identity_key))


def resolve_customer(event: SocialEvent, assignments: Mapping[str, str]) -> str:
    """Pure. The customer id for ``event``'s author: its assignment if linked, else ``new_customer_id``."""
    key = event.identity_key
    return assignments.get(key) or new_customer_id(key)
