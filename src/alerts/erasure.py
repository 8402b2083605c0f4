"""Taking a person out of the alerts store: evidence redacted, counts kept (``streams.erasure`` runs it).

An incident is the team's record of what happened, so it stays, with its counts, severity and history; what
names the person in it goes. Rows are found by the person's keys in their serialised data (identity keys,
customer ids, event keys), then every string in them is redacted: a string equal to one of the person's
values (an author id, handle, name, a post's text or link, an event id) becomes ``ERASED``; a string
containing one of their needles (keys, names, a text's opening) has it replaced by ``ERASED``. Dedup keys
get the same treatment. The detectors' ledger loses the person's event keys and their state entries that
are about them (a pending question, a tracked post); state entries that mention them among others (a
brand's spike series or window of recent posts) are redacted like the incidents, and so are the delivery
tables' copies of incidents.

Repository functions take a keyword-only ``session`` and never commit.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
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


_ID_CHARS = r"A-Za-z0-9_\-"
"""Characters that continue an id: a needle counts only where none is next to it (``weibo:123`` is not in
``weibo:1234``). ASCII only: a handle is followed by Chinese text in a reply (``@ann您好``)."""


def bounded(needles: Iterable[str]) -> re.Pattern[str] | None:
    """One pattern matching any of ``needles`` (longest first) where no id character touches it; ``None``
    for none."""
    ordered = sorted({n for n in needles if n}, key=lambda n: (-len(n), n))
    if not ordered:
        return None
    return re.compile(f"(?<![{_ID_CHARS}])(?:{'|'.join(map(re.escape, ordered))})(?![{_ID_CHARS}])")


@dataclass(frozen=True)
class Redaction:
    """What names a person: ``keys`` find their rows (identity keys, customer ids, event keys), ``exact``
    values are replaced whole, ``needles`` wherever they stand on their own in a string (never inside a
    longer id: another person's), ``phrases`` (the openings of their posts) wherever they occur."""

    keys: tuple[str, ...]
    exact: frozenset[str]
    needles: tuple[str, ...]
    event_keys: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()

    @cached_property
    def _keys(self) -> re.Pattern[str] | None:
        return bounded(self.keys)

    @cached_property
    def _needles(self) -> re.Pattern[str] | None:
        return bounded(self.needles)

    def names(self, value: Any) -> bool:
        """Whether ``value`` (a string or parsed JSON) holds one of the person's keys."""
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        return self._keys is not None and self._keys.search(text) is not None

    def text(self, value: str) -> str:
        if value in self.exact:
            return ERASED
        for phrase in self.phrases:
            value = value.replace(phrase, ERASED)
        return value if self._needles is None else self._needles.sub(ERASED, value)

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
    """Rows whose serialised ``column`` may hold one of ``keys`` (as JSON writes them): a cheap first cut,
    which ``Redaction.names`` then decides."""
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
            if not redaction.names(row.data) and not (isinstance(row, IncidentRow) and redaction.names(row.dedup_key)):
                continue
            row.data = JsonText(json.dumps(redaction.walk(row.data), ensure_ascii=False))
            if isinstance(row, IncidentRow):
                row.dedup_key = redaction.text(row.dedup_key)
                row.open_key = None if row.open_key is None else redaction.text(row.open_key)
            if isinstance(row, SignalRow) and row.event_key in redaction.event_keys:
                row.event_key = None
            changed += 1
        counts[f"sql.{table.__tablename__}"] = changed
    # entries about the person (a pending question of theirs, a post of theirs tracked) go; entries that
    # mention them among others (a brand's spike series, its window of recent posts) are redacted: deleting
    # those would reset a brand's baselines
    changed = 0
    candidates = or_(*(DetectorStateRow.key.contains(key, autoescape=True) for key in redaction.keys),
                     _naming(DetectorStateRow.data, redaction.keys))
    for state in session.scalars(select(DetectorStateRow).where(candidates)):
        if redaction.names(state.key):
            session.delete(state)
            changed += 1
            continue
        if not redaction.names(state.data):
            continue
        state.data = JsonText(json.dumps(redaction.walk(state.data), ensure_ascii=False))  # type: ignore[assignment]
        changed += 1
    counts[f"sql.{DetectorStateRow.__tablename__}"] = changed
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
        found[f"sql.{table.__tablename__}"] = sum(1 for row in rows if redaction.names(row.data))
    ledger = session.scalars(select(EventLedgerRow.event_key).where(
        any_of(EventLedgerRow.event_key, list(redaction.event_keys) or [""], session=session))).all()
    found[f"sql.{EventLedgerRow.__tablename__}"] = len(ledger)
    return found
