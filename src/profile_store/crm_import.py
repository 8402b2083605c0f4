"""CRM import: one CSV row per CRM customer becomes deterministic identity links.

Columns (header row required, names case-insensitive): ``crm_id`` (required), ``name``, ``email``,
``phone``, ``handles`` (identity keys such as ``weibo:123`` separated by ``;``, ``,`` or spaces), and
optionally one column per platform (``weibo``, ``douyin``, ...) holding that platform's user id. Each row
links ``crm:<crm_id>`` to every other key it names. Pure parsing; bad rows are reported, not fatal.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from ingest.contracts import Platform
from profile_store.contracts import LinkSignal, Provenance
from profile_store.identity_graph import make_link
from profile_store.identity_keys import normalise_email, normalise_phone, parse_identity_key

_SEPARATORS = re.compile(r"[;,\s]+")
_PLATFORMS = {platform.value for platform in Platform} - {"other"}


@dataclass(frozen=True)
class CrmImport:
    """The link signals the file states, and one message per row that could not be used."""

    signals: tuple[LinkSignal, ...]
    errors: tuple[str, ...]
    rows: int


def parse_crm_csv(lines: Iterable[str], *, source_name: str, at: datetime) -> CrmImport:
    """Parse CSV text lines (any iterable of lines, e.g. an open file)."""
    reader = csv.DictReader(lines)
    if reader.fieldnames is None or "crm_id" not in {name.strip().lower() for name in reader.fieldnames}:
        return CrmImport(signals=(), errors=("the header must name a crm_id column",), rows=0)
    signals: list[LinkSignal] = []
    errors: list[str] = []
    rows = 0
    for number, raw in enumerate(reader, start=2):
        rows += 1
        row = {(key or "").strip().lower(): (value or "").strip() for key, value in raw.items() if isinstance(value, str)}
        crm_id = row.get("crm_id", "")
        if not crm_id:
            errors.append(f"line {number}: empty crm_id")
            continue
        keys, row_errors = _row_keys(row, number)
        errors.extend(row_errors)
        provenance = Provenance(source="crm_import", actor=source_name, reference=f"line {number}")
        anchor = f"crm:{crm_id}"
        signals.extend(
            LinkSignal(op="link", link=make_link(anchor, key, provenance, at), at=at) for key in keys if key != anchor
        )
    return CrmImport(signals=tuple(signals), errors=tuple(errors), rows=rows)


def _row_keys(row: dict[str, str], number: int) -> tuple[list[str], list[str]]:
    keys: list[str] = []
    errors: list[str] = []
    for column, normalise in (("email", normalise_email), ("phone", normalise_phone)):
        if not row.get(column):
            continue
        value = normalise(row[column])
        if value is None:
            errors.append(f"line {number}: not a valid {column}: {row[column]!r}")
        else:
            keys.append(f"{column}:{value}")
    for token in filter(None, _SEPARATORS.split(row.get("handles", ""))):
        try:
            keys.append(parse_identity_key(token))
        except ValueError as exc:
            errors.append(f"line {number}: {exc}")
    for platform in sorted(_PLATFORMS & row.keys()):
        if row[platform]:
            keys.append(f"{platform}:{row[platform]}")
    return list(dict.fromkeys(keys)), errors
