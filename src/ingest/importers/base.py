"""What every importer shares: the options of one import, what a row became, and the dead letter of a row
that did not map.

An importer reads one file as a stream of rows (never the whole file at once) and maps each row, purely,
to one of three outcomes:
- an ``event`` (a ``SocialEvent`` whose ``source`` is ``import:<format>:<file name>``);
- ``skipped`` with the reason: a row the format holds but that is no interaction (a creator's profile, a
  follower list entry without a time). Counted, never silent;
- an ``error`` (``InvalidEvent``: field and reason): the row is dead-lettered with its bytes (see
  ``import_dead_letter``).
A file that cannot be read as the format at all (a CSV header naming no event field, a MediaCrawler file
whose platform neither its path nor ``--platform`` tells) raises ``UnreadableFile`` before any row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ingest.contracts import Platform, SocialEvent
from ingest.deadletter import DeadLetter
from ingest.exceptions import InvalidEvent

IMPORT_STAGE = "import"
"""The ``stage`` of an import's dead letters."""
MAX_SOURCE_CHARS = 128
"""``SocialEvent.source`` is at most this long; a long file name is cut to fit."""


class UnreadableFile(ValueError):
    """The file is not of the format (or its format needs what the options do not give): nothing in it
    was imported. ``reason`` says what is wrong, without quoting the file's content."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path.name}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class CsvMapping:
    """How the ``csv`` format reads a file whose header does not name ``SocialEvent`` fields itself (the
    mapping file, see ``ingest.importers.csv_columns``): ``columns`` renames file columns to field paths
    (``""``: a column that names no field, kept in ``raw`` only), ``defaults`` gives fields no column
    holds, ``timezone`` (an IANA name) is the zone of times written without an offset."""

    columns: dict[str, str] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)
    timezone: str | None = None


@dataclass(frozen=True)
class ImportOptions:
    """One import's options. ``received_at`` is stamped on every event (the time the import started);
    ``platform`` overrides what a file says or its path tells; ``brand`` fills events that name none."""

    received_at: datetime
    platform: Platform | None = None
    brand: str | None = None
    mapping: CsvMapping | None = None


@dataclass(frozen=True, slots=True)
class RowOutcome:
    """What one row became: exactly one of ``event``, ``skipped`` (the reason) or ``error``. ``number`` is
    the row's 1-based position among the file's records; ``original`` the row's bytes as read (for a CSV
    record: a JSON object of column -> value, since a CSV line means nothing without its header)."""

    number: int
    original: bytes
    event: SocialEvent | None = None
    skipped: str | None = None
    error: InvalidEvent | None = None


def source_of(format_name: str, path: Path) -> str:
    """``import:<format>:<file name>``, the file name cut so the whole fits ``SocialEvent.source``."""
    prefix = f"import:{format_name}:"
    return prefix + path.name[: MAX_SOURCE_CHARS - len(prefix)]


def import_dead_letter(outcome: RowOutcome, *, source: str, at: datetime) -> DeadLetter:
    """The dead letter of a row that did not map: its bytes, the reason, stage ``import``, the import's
    ``source`` as the topic and the row number as the offset, so importing the same file again stores the
    same dead letter once (``ingest.deadletter_store.letter_key``). Pure."""
    error = outcome.error
    return DeadLetter(
        original=outcome.original,
        error=str(error) if error is not None else "row did not map",
        field=error.field if error is not None else None,
        stage=IMPORT_STAGE,
        source_topic=source,
        offset=outcome.number,
        failed_at=at,
    )


def as_mapping(value: Any, number: int) -> dict[str, Any]:
    """A row that must be a JSON object, or ``InvalidEvent`` saying what it was instead."""
    if not isinstance(value, dict):
        raise InvalidEvent("<payload>", f"record {number} is a JSON {type(value).__name__}, not an object")
    return value
