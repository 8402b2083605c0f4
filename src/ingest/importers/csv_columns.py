"""The ``csv`` format: a header row naming ``SocialEvent`` fields, one event per record.

Columns name fields as the wire JSON does, nested ones dotted: ``event_id``, ``platform``, ``kind``,
``occurred_at``, ``received_at``, ``brand``, ``text``, ``lang``, ``url``, ``parent_id``, ``thread_id``,
``location``, ``author.id``, ``author.handle``, ``author.display_name``, ``author.followers``,
``author.verified``, ``metrics.likes``, ``metrics.shares``, ``metrics.replies``, ``identity_hints.email``,
``identity_hints.phone``, ``identity_hints.wechat_unionid``, ``identity_hints.crm_id``. An empty cell is
an absent field. Times are ISO 8601 with an offset, or Unix seconds or milliseconds; a time without an
offset is read in the mapping's ``timezone`` (and refused without one). ``source`` is
``import:csv:<file name>``; ``raw`` is the whole record (column -> cell).

A mapping file (TOML, ``--mapping``) reads files whose header says something else::

    timezone = "Asia/Shanghai"          # times written without an offset are in this zone
    [columns]                           # file column = field ("" keeps a column in raw only)
    "用户ID" = "author.id"
    "评论内容" = "text"
    "备注" = ""
    [defaults]                          # fields no column holds, the same for every record
    platform = "weibo"
    kind = "comment"

A header column that names no field (and is not mapped) refuses the file, as does a header that leaves
``event_id``, ``platform``, ``kind``, ``occurred_at`` or ``author.id`` without a column or default
(``--platform`` counts as a default): a typo must not drop data silently. A record that does not
validate is dead-lettered with the field and reason.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel

from ingest.adapters.json_payload import bounded_raw
from ingest.codec import event_from_dict
from ingest.contracts import SocialEvent
from ingest.exceptions import InvalidEvent
from ingest.importers.base import CsvMapping, ImportOptions, RowOutcome, UnreadableFile, source_of
from ingest.importers.readers import Record, csv_records

NAME = "csv"
_NOT_COLUMNS = {"schema_version", "source", "raw"}
REQUIRED = ("event_id", "platform", "kind", "occurred_at", "author.id")
_TIMES = {"occurred_at", "received_at"}


def _field_paths() -> tuple[str, ...]:
    paths: list[str] = []
    for name, info in SocialEvent.model_fields.items():
        if name in _NOT_COLUMNS:
            continue
        nested = info.annotation
        if isinstance(nested, type) and issubclass(nested, BaseModel):
            paths.extend(f"{name}.{inner}" for inner in nested.model_fields)
        else:
            paths.append(name)
    return tuple(paths)


FIELDS = _field_paths()
"""Every field path a column may name, in contract order."""


def load_mapping(path: Path) -> CsvMapping:
    """Read a mapping file (TOML, see the module docstring). Blocks on file I/O; raises ``ValueError``
    naming what is wrong (unknown keys, a field that does not exist, an unknown time zone)."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path.name} is not TOML: {exc}") from exc
    unknown = set(document) - {"columns", "defaults", "timezone"}
    if unknown:
        raise ValueError(f"{path.name}: unknown keys {sorted(unknown)}; expected columns, defaults, timezone")
    columns = _strings(document.get("columns", {}), f"{path.name} [columns]")
    defaults = _strings(document.get("defaults", {}), f"{path.name} [defaults]")
    for target in [*columns.values(), *defaults]:
        if target and target not in FIELDS:
            raise ValueError(f"{path.name}: {target!r} is no SocialEvent field; fields: {', '.join(FIELDS)}")
    timezone = document.get("timezone")
    if timezone is not None:
        if not isinstance(timezone, str):
            raise ValueError(f"{path.name}: timezone must be a string such as \"Asia/Shanghai\"")
        _zone(timezone, path.name)
    return CsvMapping(columns=columns, defaults=defaults, timezone=timezone)


def _strings(table: Any, where: str) -> dict[str, str]:
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise ValueError(f"{where} must map names to strings")
    return {str(k): v for k, v in table.items()}


def _zone(name: str, where: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{where}: unknown time zone {name!r}") from exc


@dataclass(frozen=True)
class Layout:
    """Where each field of a record comes from: ``columns`` (file column -> field path), ``defaults``
    (field path -> value) and the zone of offset-less times."""

    columns: Mapping[str, str]
    defaults: Mapping[str, str]
    zone: tzinfo | None


def layout_of(header: list[str], options: ImportOptions, *, path: Path) -> Layout:
    """Pure: the layout of a file with this header, or ``UnreadableFile`` saying why there is none."""
    mapping = options.mapping or CsvMapping()
    columns: dict[str, str] = {}
    for column in header:
        target = mapping.columns.get(column, column.strip())
        if target == "":
            continue
        if target not in FIELDS:
            raise UnreadableFile(path, f"column {column!r} names no SocialEvent field (map it in a mapping "
                                       f"file, or map it to \"\" to keep it in raw only); fields: {', '.join(FIELDS)}")
        if target in columns.values():
            raise UnreadableFile(path, f"two columns name the field {target!r}")
        columns[column] = target
    defaults = dict(mapping.defaults)
    if options.platform is not None:
        defaults.setdefault("platform", options.platform.value)
    missing = [f for f in REQUIRED if f not in columns.values() and f not in defaults]
    if missing:
        raise UnreadableFile(path, f"no column or default for {', '.join(missing)}")
    zone = _zone(mapping.timezone, "mapping") if mapping.timezone else None
    return Layout(columns=columns, defaults=defaults, zone=zone)


def read(path: Path, options: ImportOptions) -> Iterator[RowOutcome]:
    """Stream the file's records as outcomes; ``UnreadableFile`` (raised on the first ``next``) when the
    file has no header or the header does not fit. Blocks on file I/O."""
    source = source_of(NAME, path)
    with csv_records(path) as (header, records):
        layout = layout_of(header, options, path=path)
        for record in records:
            yield map_record(record, layout, source=source, options=options)


def map_record(record: Record, layout: Layout, *, source: str, options: ImportOptions) -> RowOutcome:
    """Pure: one CSV record (column -> cell) -> its event, or the error that dead-letters it."""
    try:
        if record.error is not None:
            raise record.error
        row: dict[str, str] = record.value
        payload: dict[str, Any] = {}
        for path, value in [*layout.defaults.items(), *((layout.columns[c], v) for c, v in row.items() if c in layout.columns)]:
            if value is None or not value.strip():
                continue
            _put(payload, path, _time(value.strip(), layout.zone, path) if path in _TIMES else value)
        payload["source"] = source
        payload["raw"] = bounded_raw(dict(row))
        if options.brand and not payload.get("brand"):
            payload["brand"] = options.brand
        event = event_from_dict(payload, received_at=options.received_at)
    except InvalidEvent as exc:
        return RowOutcome(record.number, record.original, error=exc)
    return RowOutcome(record.number, record.original, event=event)


def _put(payload: dict[str, Any], path: str, value: Any) -> None:
    head, _, tail = path.partition(".")
    if tail:
        payload.setdefault(head, {})[tail] = value
    else:
        payload[head] = value


def _time(value: str, zone: tzinfo | None, path: str) -> str:
    """A cell's time as ISO 8601 with an offset (Unix seconds/milliseconds left to the contract)."""
    if value.isdigit():
        return value
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidEvent(path, f"not a time: {value[:40]!r} (ISO 8601 with an offset, or Unix seconds)") from exc
    if parsed.tzinfo is None:
        if zone is None:
            raise InvalidEvent(path, "time has no offset; give one, or a timezone in the mapping file")
        parsed = parsed.replace(tzinfo=zone)
    return parsed.isoformat()
