"""Identity step: which customer an event belongs to.

A known identity key resolves through the assignment table (kept by the identity service from links);
an unknown one gets a deterministic ``customer_id`` — uuid5 of the identity key — so workers create
customers without coordinating.
"""

from __future__ import annotations

from collections.abc import Mapping

from ingest.contracts import SocialEvent
from profile_store.identity_graph import new_customer_id


def resolve_customer(event: SocialEvent, assignments: Mapping[str, str]) -> str:
    """Pure. The customer id for ``event``'s author: its assignment if linked, else ``new_customer_id``."""
    key = event.identity_key
    return assignments.get(key) or new_customer_id(key)
