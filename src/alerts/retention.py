"""Retention of the post text quoted in alert evidence: an alert's evidence (``evidence.text``, the posts
of ``seed_posts``, ``top_spreaders`` ...) repeats the post it is about, and every incident version carries
the merged evidence into the outbox and the deliveries. Once the platform no longer keeps a post's text
(``RetentionPolicy.raw_text_days``), that copy goes too: every ``text`` inside an ``evidence`` becomes
``None``; rules, severities, counts, titles (which never quote a post), comments and suggested replies stay.

Ages count from each row's own wall-clock time: an alert from when it was recorded, an incident from its
last change (one still changing keeps its evidence; its earlier versions in the outbox do not), outbox
and delivery rows from when they were written. An incident is rewritten only if it did not change since
it was read (its ``version``), so an agent's acknowledgement racing the job is never undone. Functions
take a keyword-only ``session``, do one page of work and never commit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session

from alerts.tables import AlertBase, DeliveryDeadLetterRow, DeliveryRow, IncidentRow, OutboxRow, SignalRow
from sqlkit import RewritePage, rewrite_documents

_TABLES = AlertBase.metadata.tables
EVIDENCE_TABLES: tuple[tuple[Table, str, tuple[str, ...], str | None], ...] = (
    (_TABLES[SignalRow.__tablename__], "recorded_at", ("alert_id",), None),
    (_TABLES[IncidentRow.__tablename__], "updated_at", ("incident_id",), "version"),
    (_TABLES[OutboxRow.__tablename__], "created_at", ("incident_id", "version"), None),
    (_TABLES[DeliveryRow.__tablename__], "created_at", ("incident_id", "version", "channel"), None),
    (_TABLES[DeliveryDeadLetterRow.__tablename__], "failed_at", ("incident_id", "version", "channel"), None),
)
"""Each table whose ``data`` holds evidence: its time column, its key and the column guarding rewrites."""


def without_evidence_text(value: Any, *, inside: bool = False) -> Any:
    """``value`` (a stored alert, incident or delivery document) with every ``text`` under an ``evidence``
    key set to ``None``; anything else unchanged."""
    if isinstance(value, dict):
        return {key: None if inside and key == "text" else
                without_evidence_text(item, inside=inside or key == "evidence") for key, item in value.items()}
    if isinstance(value, list):
        return [without_evidence_text(item, inside=inside) for item in value]
    return value


def blank_evidence_texts(table: Table, *, since: datetime | None, before: datetime, after: tuple[Any, ...] | None,
                         limit: int, write: bool = True, session: Session) -> RewritePage:
    """Blank evidence text in up to ``limit`` rows of ``table`` (one of ``EVIDENCE_TABLES``) written in
    ``[since, before)`` past the cursor ``after``; without ``write`` only counts. Idempotent."""
    when, keys, guard = next((w, k, g) for t, w, k, g in EVIDENCE_TABLES if t is table)
    return rewrite_documents(table, when=when, keys=keys, document="data", transform=without_evidence_text,
                             since=since, before=before, after=after, limit=limit, write=write, session=session,
                             guard=guard)
