"""Retention of the profile store's event log: blanking the free text of events stored long ago, and
deleting events and interaction edges stored longer ago still (``streams.jobs.retention`` decides when).

Profiles are not touched: they are folds and keep the counts, scores and lifecycle the deleted events
made. A later refold of a customer (a merge or a split recomputes profiles from the stored events) sees
only the events still kept, so its counts then cover those alone. A blanked event keeps every field but
``event.text`` and ``event.raw`` (the raw payload, which repeats the text): its scores, topics and intents
stay. Every function takes a keyword-only ``session``, does one page of work and never commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session

from profile_store.tables import InteractionEdgeRow, ProfileEventRow
from sqlkit import RewritePage, count_older, delete_older, rewrite_documents

_EVENTS: Table = ProfileEventRow.__table__  # type: ignore[assignment]
_EDGES: Table = InteractionEdgeRow.__table__  # type: ignore[assignment]


def without_text(document: dict[str, Any]) -> dict[str, Any]:
    """A stored ``EnrichedEvent`` document with the post's text and raw payload blanked (``None``)."""
    event = document.get("event")
    if not isinstance(event, dict) or (event.get("text") is None and event.get("raw") is None):
        return document
    return {**document, "event": {**event, "text": None, "raw": None}}


def blank_event_texts(*, since: datetime | None, before: datetime, after: tuple[Any, ...] | None, limit: int,
                      write: bool = True, session: Session) -> RewritePage:
    """Blank the text of up to ``limit`` events stored in ``[since, before)`` past the cursor ``after``
    (``sqlkit.rewrite_documents``; without ``write`` only counts). Idempotent."""
    return rewrite_documents(_EVENTS, when="stored_at", keys=("event_key",), document="data", transform=without_text,
                             since=since, before=before, after=after, limit=limit, write=write, session=session)


def delete_events(*, before: datetime, limit: int, session: Session) -> int:
    """Delete up to ``limit`` events stored before ``before`` (oldest first); returns how many. Idempotent."""
    return delete_older(_EVENTS, when="stored_at", key="event_key", before=before, limit=limit, session=session)


def delete_edges(*, before: datetime, limit: int, session: Session) -> int:
    """Delete up to ``limit`` interaction edges stored before ``before`` (with their events: same time)."""
    return delete_older(_EDGES, when="stored_at", key="event_key", before=before, limit=limit, session=session)


def count_events(*, before: datetime, session: Session) -> int:
    """Events stored before ``before`` (what ``delete_events`` would remove in all)."""
    return count_older(_EVENTS, when="stored_at", before=before, session=session)


def count_edges(*, before: datetime, session: Session) -> int:
    """Interaction edges stored before ``before``."""
    return count_older(_EDGES, when="stored_at", before=before, session=session)
