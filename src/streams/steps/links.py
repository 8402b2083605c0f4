"""Links step: deterministic identity links stated by an event's own identity hints (connector payload)."""

from __future__ import annotations

from ingest.contracts import SocialEvent
from profile_store.contracts import IdentityLink, Provenance
from profile_store.identity_graph import make_link
from profile_store.identity_keys import linking_keys


def hint_links(event: SocialEvent) -> list[IdentityLink]:
    """Pure. One link per linking key in ``event.identity_hints`` (email, phone, WeChat unionid, CRM id),
    tying it to the event's platform identity, with the connector as provenance and the event's time."""
    provenance = Provenance(source="connector", actor=event.source, reference=event.post_key)
    return [make_link(event.identity_key, key, provenance, event.occurred_at_utc) for key in linking_keys(event.identity_hints)]
