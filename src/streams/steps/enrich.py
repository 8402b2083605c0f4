"""Enrich step: a batch of resolved events in, ``EnrichedEvent`` out, in the same order.

Blocking (runs the model): runtimes call it off their event loop. Events without text (likes, follows)
are enriched as empty text, which every ``Enricher`` scores neutral.
"""

from __future__ import annotations

from collections.abc import Sequence

from enrichment.protocols import Enricher
from ingest.contracts import SocialEvent
from streams.contracts import EnrichedEvent


def enrich_events(resolved: Sequence[tuple[SocialEvent, str]], enricher: Enricher) -> list[EnrichedEvent]:
    """Score ``(event, customer_id)`` pairs in one model batch; output order equals input order."""
    results = enricher.enrich([event.text or "" for event, _ in resolved])
    if len(results) != len(resolved):
        raise RuntimeError(f"enricher returned {len(results)} results for {len(resolved)} texts")
    return [
        EnrichedEvent(customer_id=customer_id, event=event, enrichment=enrichment)
        for (event, customer_id), enrichment in zip(resolved, results, strict=True)
    ]
