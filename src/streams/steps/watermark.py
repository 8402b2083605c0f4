"""Event-time progress across the reshuffle from raw to enriched partitions: pure, explicit state.

The enrich lane reads each raw partition in order and stamps every event with a ``SourceMark``: its raw
partition and the latest event time read there up to and including it (``SourceMarks``). The alert lane keeps, per
(enriched partition, raw partition) position, the latest such mark it has read (``progress``). Every raw
partition reaches every enriched partition in its own order, so an event the alert lane has not read yet
is at most its own lateness (how far it lies behind earlier events of its raw partition) older than the
minimum over all positions: that minimum is the watermark (``alerts.suite.settle_point``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from ingest.contracts import SocialEvent
from ingest.records import SourceRecord
from streams.contracts import EnrichedEvent, SourceMark


class SourceMarks:
    """The enrich lane's per-raw-partition progress (in memory: re-derived from the records after a
    restart). A record at or before one already read (a rewind, a redelivery) forgets its partition's
    progress, so a mark never includes an event that comes after it."""

    def __init__(self) -> None:
        self._next: dict[int, int] = {}
        self._latest: dict[int, datetime] = {}

    def stamp(self, record: SourceRecord, event: SocialEvent) -> SourceMark | None:
        """The mark of ``event`` read from ``record`` (``None`` for a record without a partition)."""
        partition, offset = record.partition, record.offset
        if partition is None or offset is None:
            return None
        at = event.occurred_at_utc
        latest = self._latest.get(partition)
        if latest is not None and offset >= self._next[partition]:
            at = max(latest, at)
        self._latest[partition], self._next[partition] = at, offset + 1
        return SourceMark(partition=partition, through=at)


def progress(records: Iterable[SourceRecord], events: Iterable[EnrichedEvent]) -> dict[str, datetime]:
    """Pure. The latest source mark per ``<enriched partition>/<raw partition>`` position among
    ``events``, read from ``records`` (pairwise: the records the events were parsed from)."""
    latest: dict[str, datetime] = {}
    for record, enriched in zip(records, events, strict=True):
        source = enriched.source
        if source is None or record.partition is None:
            continue
        position = f"{record.partition}/{source.partition}"
        latest[position] = max(latest.get(position, source.through), source.through)
    return latest
