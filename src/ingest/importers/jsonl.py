"""The ``jsonl`` format: one ``SocialEvent`` (wire JSON, ``ingest.codec``) per line.

Each line is validated as the contract says; ``received_at`` defaults to the import's start; ``source``
becomes ``import:jsonl:<file name>`` (every imported event names the import it came from); ``--brand``
and ``--platform`` fill events that name no brand or platform. A line that is not a valid event is dead-lettered with the reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from ingest.codec import event_from_dict
from ingest.exceptions import InvalidEvent
from ingest.importers.base import ImportOptions, RowOutcome, as_mapping, source_of
from ingest.importers.readers import Record, jsonl_records

NAME = "jsonl"


def read(path: Path, options: ImportOptions) -> Iterator[RowOutcome]:
    """Stream the file's lines as outcomes. Blocks on file I/O."""
    source = source_of(NAME, path)
    for record in jsonl_records(path):
        yield map_record(record, source=source, options=options)


def map_record(record: Record, *, source: str, options: ImportOptions) -> RowOutcome:
    """Pure: one parsed line -> its event, or the error that dead-letters it."""
    try:
        if record.error is not None:
            raise record.error
        payload = dict(as_mapping(record.value, record.number))
        payload["source"] = source
        if options.brand and not payload.get("brand"):
            payload["brand"] = options.brand
        if options.platform is not None and not payload.get("platform"):
            payload["platform"] = options.platform.value
        event = event_from_dict(payload, received_at=options.received_at)
    except InvalidEvent as exc:
        return RowOutcome(record.number, record.original, error=exc)
    return RowOutcome(record.number, record.original, event=event)
