"""CRM import: one row per CRM customer (CSV with a header row, or JSON lines) becomes a ``CrmRecord``
(typed attributes, consent, stage) and deterministic identity links from ``crm:<crm_id>`` to every
identity key the row names. Pure parsing; a row that does not map is reported with its row number and
the reason and contributes nothing (no half-imported customer). Column mapping: ``crm_columns``.
"""

from __future__ import annotations

import csv
import itertools
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from profile_store.contracts import Consent, CrmRecord, CrmStage, CrmValue, LinkSignal, Provenance
from profile_store.crm_columns import (
    COMPUTED_PREFIX,
    CONSENT_COLUMNS,
    IDENTITY_COLUMNS,
    KNOWN_TYPES,
    STAGE_COLUMNS,
    AttributeType,
    canonical_names,
    default_stage,
    normalise_column,
    parse_boolean,
    parse_cell,
    parse_stage,
)
from profile_store.identity_graph import make_link
from profile_store.identity_keys import normalise_email, normalise_phone, parse_identity_key

_SEPARATORS = re.compile(r"[;,\s]+")
_NAME = re.compile(r"[^\w]+")


@dataclass(frozen=True)
class RowError:
    """A row that was not imported: its number (CSV: the header is row 1; JSON lines: the line) and why."""

    row: int
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}: {self.reason}"


@dataclass(frozen=True)
class CrmImport:
    """The records and link signals the file states, every row that could not be used, the number of data
    rows read, the columns ignored (``scrm_*``: computed by ``export-crm``) and, per crm_id, the columns
    its row has (empty cells included: what a re-import replaces, ``crm_columns.merge_record``)."""

    records: tuple[CrmRecord, ...]
    signals: tuple[LinkSignal, ...]
    errors: tuple[RowError, ...]
    rows: int
    ignored_columns: tuple[str, ...] = ()
    columns: dict[str, frozenset[str]] = field(default_factory=dict)


class _Rejected(ValueError):
    """The row cannot be imported, for each of ``reasons``."""

    def __init__(self, *reasons: str) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


def parse_crm_csv(lines: Iterable[str], *, source_name: str, at: datetime) -> CrmImport:
    """Parse CSV text lines (any iterable of lines, e.g. an open file; a UTF-8 BOM is the caller's to
    strip), delimited by ``,`` (or ``;``, tab or ``|`` when the header holds no comma). A header without
    ``crm_id``, or with an unknown declared type, refuses the file (one error, row 1)."""
    rows = iter(lines)
    first = next(rows, None)
    if first is None:
        return CrmImport((), (), (RowError(1, "the file is empty: a header row naming crm_id is required"),), 0)
    reader = csv.reader(itertools.chain([first], rows), delimiter=_delimiter(first))
    header = next(reader, None)
    if header is None:
        return CrmImport((), (), (RowError(1, "the file is empty: a header row naming crm_id is required"),), 0)
    try:
        parsed = [normalise_column(cell) for cell in header]
    except ValueError as exc:
        return CrmImport((), (), (RowError(1, str(exc)),), 0)
    names = canonical_names([name for name, _ in parsed])
    columns = [(name, declared) for name, (_, declared) in zip(names, parsed, strict=True)]
    if "crm_id" not in names:
        return CrmImport((), (), (RowError(1, "the header must name a crm_id column (or customer_id, client_id, "
                                               "account_id, 客户编号, … : docs/importers.md)"),), 0)
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        return CrmImport((), (), (RowError(1, f"columns named twice: {', '.join(duplicated)}"),), 0)
    builder = _Builder(source_name, at)
    for number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(columns):
            builder.reject(number, f"{len(cells)} cells for {len(columns)} columns")
            continue
        builder.add(number, {name: (cell, declared) for (name, declared), cell in zip(columns, cells, strict=False)})
    return builder.result(sorted(name for name in names if name.startswith(COMPUTED_PREFIX)))


def _delimiter(header: str) -> str:
    """The delimiter a header line uses: ``,`` unless it holds none and more ``;``, tabs or ``|``."""
    if "," in header:
        return ","
    counts = {candidate: header.count(candidate) for candidate in (";", "\t", "|")}
    best = max(counts, key=counts.__getitem__)
    return best if counts[best] else ","


def parse_crm_jsonl(lines: Iterable[str], *, source_name: str, at: datetime) -> CrmImport:
    """Parse JSON lines (or one JSON array of objects): one object per line, keys as the CSV's columns (a ``name:type`` key declares a
    type); JSON numbers, booleans and arrays of strings keep their type; ``handles`` may be an array,
    ``consent`` an object of channel -> boolean, ``attributes`` an object of more attributes (what
    ``export-crm --format jsonl`` writes; its ``scrm`` object and ``schema_version`` are ignored)."""
    builder = _Builder(source_name, at)
    ignored: set[str] = set()
    for number, document in _documents(lines, builder):
        if not isinstance(document, dict):
            builder.reject(number, "not a JSON object")
            continue
        try:
            row = _flatten(document, ignored)
        except _Rejected as exc:
            builder.reject(number, str(exc))
            continue
        builder.add(number, row)
    return builder.result(sorted(ignored))


def _documents(lines: Iterable[str], builder: _Builder) -> Iterator[tuple[int, Any]]:
    """``(row number, JSON value)`` per non-empty line; a file whose first non-empty line starts with ``[``
    is one JSON array instead, its elements numbered from 1. What is not JSON is rejected on ``builder``."""
    numbered = ((n, line) for n, line in enumerate(lines, start=1) if line.strip())
    for position, (number, line) in enumerate(numbered):
        if position == 0 and line.lstrip().startswith("["):
            text = line + "".join(rest for _, rest in numbered)
            try:
                array = json.loads(text)
            except json.JSONDecodeError as exc:
                builder.reject(number, f"not a JSON array: {exc.msg} at line {exc.lineno} column {exc.colno}")
                return
            yield from enumerate(array if isinstance(array, list) else [array], start=1)
            return
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            builder.reject(number, f"not JSON: {exc.msg} at column {exc.colno}")


Cell = tuple[Any, AttributeType | None]
"""A row's value under one column (text from CSV, any JSON value from JSON lines) and its declared type."""


def _flatten(document: Mapping[str, Any], ignored: set[str]) -> dict[str, Cell]:
    row: dict[str, Cell] = {}
    for key, value in document.items():
        try:
            name, declared = normalise_column(key)
        except ValueError as exc:
            raise _Rejected(str(exc)) from None
        if name in ("scrm", "schema_version") or name.startswith(COMPUTED_PREFIX):
            ignored.add(name)
        elif name == "consent" and isinstance(value, dict):
            for channel, granted in value.items():
                row[f"consent_{_NAME.sub('_', str(channel).strip().lower())}"] = (granted, None)
        elif name == "attributes" and isinstance(value, dict):
            row.update(_flatten(value, ignored))
        else:
            if name in row:
                raise _Rejected(f"key {name!r} given twice")
            row[name] = (value, declared)
    return dict(zip(canonical_names(list(row)), row.values(), strict=True))


class _Builder:
    """Turns rows (column -> cell) into records and links, collecting what cannot be used."""

    def __init__(self, source_name: str, at: datetime) -> None:
        self.source_name, self.at = source_name, at
        self.records: dict[str, CrmRecord] = {}
        self.columns: dict[str, frozenset[str]] = {}
        self.first_row: dict[str, int] = {}
        self.signals: list[LinkSignal] = []
        self.errors: list[RowError] = []
        self.rows = 0

    def reject(self, number: int, reason: str) -> None:
        self.rows += 1
        self.errors.append(RowError(number, reason))

    def add(self, number: int, row: Mapping[str, Cell]) -> None:
        self.rows += 1
        try:
            record = _record(row)
        except _Rejected as exc:
            self.errors.extend(RowError(number, reason) for reason in exc.reasons)
            return
        if record.crm_id in self.records:
            self.errors.append(RowError(number, f"crm_id already given on row {self.first_row[record.crm_id]}"))
            return
        self.records[record.crm_id] = record
        self.columns[record.crm_id] = frozenset(row)
        self.first_row[record.crm_id] = number
        provenance = Provenance(source="crm_import", actor=self.source_name, reference=f"row {number}")
        anchor = f"crm:{record.crm_id}"
        self.signals.extend(LinkSignal(op="link", link=make_link(anchor, key, provenance, self.at), at=self.at)
                            for key in record.identities if key != anchor)

    def result(self, ignored: list[str]) -> CrmImport:
        return CrmImport(tuple(self.records.values()), tuple(self.signals), tuple(self.errors), self.rows,
                         tuple(ignored), dict(self.columns))


def _record(row: Mapping[str, Cell]) -> CrmRecord:
    """The record a row states. Raises ``_Rejected`` with every problem of the row."""
    crm_id = _text(row.get("crm_id", (None, None))[0])
    if not crm_id:
        raise _Rejected("empty crm_id")
    if len(crm_id) > 256:
        raise _Rejected("crm_id longer than 256 characters")
    attributes: dict[str, CrmValue] = {}
    consent: dict[str, bool] = {}
    stage: CrmStage | None = None
    identities: list[str] = []
    problems: list[str] = []
    for name, (value, declared) in row.items():
        if name == "crm_id" or name.startswith(COMPUTED_PREFIX) or _empty(value):
            continue
        try:
            if name in IDENTITY_COLUMNS:
                identities.extend(_identity_keys(name, value))
            elif name in CONSENT_COLUMNS:
                channel, inverted = CONSENT_COLUMNS[name]
                granted = value if isinstance(value, bool) else parse_boolean(_cell_text(value))
                consent[channel] = granted is not inverted
            elif name in STAGE_COLUMNS and (named := parse_stage(_cell_text(value))) is not None:
                stage = named
            else:
                attributes[name] = _typed(value, declared or KNOWN_TYPES.get(name))
        except ValueError as exc:
            problems.append(f"column {name}: {exc}")
    if problems:
        raise _Rejected(*problems)
    return CrmRecord(crm_id=crm_id, attributes=attributes, consent=Consent(**consent),
                     stage=default_stage(attributes) if stage is None else stage,
                     identities=tuple(dict.fromkeys(identities)))


def _typed(value: Any, kind: AttributeType | None) -> CrmValue:
    """Text is parsed as ``kind`` (text when none is known); a JSON value keeps its own type when no type
    is known or declared, and is converted to the type that is; anything else raises ``ValueError``."""
    if isinstance(value, str):
        return parse_cell(value, kind or "text")
    if isinstance(value, bool):
        if kind in (None, "boolean", "text"):
            return str(value).lower() if kind == "text" else value
    elif isinstance(value, int | float):
        if kind is None:
            return value
        if kind == "number":
            return float(value)
        if kind == "integer" and float(value).is_integer():
            return int(value)
        if kind == "text":
            return str(value)
    elif isinstance(value, list) and all(isinstance(item, str) for item in value) and kind in (None, "list"):
        return tuple(value)
    raise ValueError(f"not {'an' if (kind or 'o')[0] in 'aeiou' else 'a'} {kind or 'single'} value")


def _identity_keys(column: str, value: Any) -> list[str]:
    if column in ("email", "phone"):
        normalise = normalise_email if column == "email" else normalise_phone
        key = normalise(_cell_text(value))
        if key is None:
            raise ValueError(f"not a valid {column}")
        return [f"{column}:{key}"]
    tokens = (value if isinstance(value, list) else _SEPARATORS.split(_cell_text(value))) if column == "handles" \
        else [f"{column}:{_cell_text(value)}"]
    keys = []
    for token in (str(token).strip() for token in tokens):
        if not token:
            continue
        try:
            keys.append(parse_identity_key(token))
        except ValueError:  # its message quotes the value: personal data stays out of reports
            raise ValueError(f"not a valid identity key of kind {token.partition(':')[0][:32]!r}") from None
    return keys


def _cell_text(value: Any) -> str:
    if isinstance(value, dict | list):
        raise ValueError("expected a single value")
    return str(value).strip()


def _text(value: Any) -> str:
    return "" if value is None or isinstance(value, dict | list) else str(value).strip()


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []
