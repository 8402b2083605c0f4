"""The consent events state: which enriched events withdraw consent, as statements for the consent store
(``profile_store.consents``). Pure.

An ``unfollow`` (a WeChat Official Account ``unsubscribe``) withdraws ``contact`` and ``marketing`` for
the account that sent it, by the connector that received it (``source``), at the event's time: a replayed
event states the same and changes nothing, and a grant made after it (by the CRM, the API) outranks it.
"""

from __future__ import annotations

from collections.abc import Iterable

from ingest.contracts import EventKind
from profile_store.consents import statements_for
from profile_store.contracts import Consent, ConsentStatement
from streams.contracts import EnrichedEvent

WITHDRAWALS: dict[EventKind, Consent] = {EventKind.UNFOLLOW: Consent(contact=False, marketing=False)}
"""The event kinds that state consent, and what they state."""


def consent_statements(events: Iterable[EnrichedEvent]) -> list[ConsentStatement]:
    """The statements ``events`` make, one per event and purpose it says something about."""
    return [statement for enriched in events if (said := WITHDRAWALS.get(enriched.event.kind)) is not None
            for statement in statements_for([enriched.event.identity_key], said, source=enriched.event.source,
                                            at=enriched.event.occurred_at_utc)]
