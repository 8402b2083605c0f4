"""The seam between the stream and any classifier: a batch in, one result per text out, in order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from enrichment.contracts import Enrichment, ModelStamp


class Enricher(Protocol):
    """Scores texts. ``enrich`` blocks (CPU-bound; callers run it off the event loop), is deterministic for
    a given model stamp, and returns exactly ``len(texts)`` results in input order. Empty or ``None``-like
    texts (``""``) get a neutral result, never an error."""

    @property
    def stamp(self) -> ModelStamp: ...

    def enrich(self, texts: Sequence[str]) -> list[Enrichment]: ...
