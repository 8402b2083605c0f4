"""Taking a person out of the alerts store: evidence redacted, counts kept (``streams.erasure`` runs it).

An incident is the team's record of what happened, so it stays, with its counts, severity and history; what
names the person in it goes. Rows are found by the person's keys in their serialised data (identity keys,
customer ids, event keys), then every string in them is redacted: a string equal to one of the person's
values (an author id, handle, name, a post's text or link, an event id) becomes ``ERASED``; a string
containing one of their needles (keys, names, a text's opening) has it replaced by ``ERASED``. Dedup keys
get the same treatment. The detectors' ledger loses the person's event keys and their state entries that
name them (a pending question, a tracked post), and the delivery tables' copies of incidents are redacted
like the incidents.

Repository functions take a keyword-only ``session`` and never commit.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Text, cast, delete, or_, select
from sqlalchemy.orm import Session

from alerts.tables import (
    DeliveryDeadLetterRow,
    DeliveryRow,
    DetectorStateRow,
    EventLedgerRow,
    IncidentRow,
    OutboxRow,
    SignalRow,
)
from sqlkit import JsonText, any_of

ERASED = "[erased]"


@dataclass(frozen=True)
class Redaction:
    """What names a person: ``keys`` find their rows (identity keys, customer ids, event keys), ``exact``
    values are replaced whole, ``needles`` (longest first) wherever they occur in a string."""

    keys: tuple[str, ...]
    exact: frozenset[str]
    needles: tuple[str, ...]
    event_keys: tuple[str, ...] = ()

    def text(self, value: str) -> str:
        if value in self.exact:
            return ERASED
        for needle in self.needles:
            if needle in value:
                value = value.replace(needle, ERASED)
        return value

    def walk(self, value: Any) -> Any:
        """``value`` (parsed JSON) with every string redacted; keys of objects are kept unless they name the
        person (then redacted too)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.walk(item) for item in value]
        if isinstance(value, dict):
            return {self.text(k): self.walk(v) for k, v in value.items()}
        return value


_WITH_DATA: tuple[Any, ...] = (SignalRow, IncidentRow, OutboxRow, DeliveryRow, DeliveryDeadLetterRow)
"""The alerts tables whose ``data`` holds incidents, alerts or their deliveries."""


def _naming(column: Any, keys: Iterable[str]) -> ColumnElement[bool]:
    """Rows whose serialised ``column`` holds one of ``keys`` (as JSON writes them)."""
    spelled = {json.dumps(key)[1:-1] for key in keys} | set(keys)
    return or_(*(cast(column, Text).contains(key, autoescape=True) for key in sorted(spelled)))


def redact_person(redaction: Redaction, *, session: Session) -> dict[str, int]:
    """Redact or delete every alerts row naming the person; returns rows changed per table
    (``sql.<table>``)."""
    counts: dict[str, int] = {}
    if not redaction.keys:
        return counts
    for table in _WITH_DATA:
        changed = 0
        row: Any
        for row in session.scalars(select(table).where(_naming(table.data, redaction.keys))):
            row.data = JsonText(json.dumps(redaction.walk(row.data), ensure_ascii=False))
            if isinstance(row, IncidentRow):
                row.dedup_key = redaction.text(row.dedup_key)
                row.open_key = None if row.open_key is None else redaction.text(row.open_key)
            if isinstance(row, SignalRow) and row.event_key in redaction.event_keys:
                row.event_key = None
            changed += 1
        counts[f"sql.{table.__tablename__}"] = changed
    state = or_(any_of(DetectorStateRow.key, list(redaction.keys), session=session),
                *(DetectorStateRow.key.contains(key, autoescape=True) for key in redaction.keys),
                _naming(DetectorStateRow.data, redaction.keys))
    result = session.execute(delete(DetectorStateRow).where(state).execution_options(synchronize_session=False))
    counts[f"sql.{DetectorStateRow.__tablename__}"] = int(result.rowcount or 0)  # type: ignore[attr-defined]
    ledger = any_of(EventLedgerRow.event_key, list(redaction.event_keys) or [""], session=session)
    result = session.execute(delete(EventLedgerRow).where(ledger).execution_options(synchronize_session=False))
    counts[f"sql.{EventLedgerRow.__tablename__}"] = int(result.rowcount or 0)  # type: ignore[attr-defined]
    session.flush()
    return counts


def alert_traces(redaction: Redaction, *, session: Session) -> dict[str, int]:
    """Rows per alerts table that still hold one of the person's keys."""
    found: dict[str, int] = {}
    if not redaction.keys:
        return found
    for table in (*_WITH_DATA, DetectorStateRow):
        rows = session.scalars(select(table).where(_naming(table.data, redaction.keys))).all()
        found[f"sql.{table.__tablename__}"] = len(rows)
    ledger = session.scalars(select(EventLedgerRow.event_key).where(
        any_of(EventLedgerRow.event_key, list(redaction.event_keys) or [""], session=session))).all()
    found[f"sql.{EventLedgerRow.__tablename__}"] = len(ledger)
    return found
