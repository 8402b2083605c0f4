"""Importers: export files -> ``SocialEvent``s, one module per format, registered in ``IMPORTERS``.

Each format's ``read(path, options)`` streams a file (never reading it whole) as ``RowOutcome``s: an
event, a skip with its reason, or an error to dead-letter (``import_dead_letter``). The mapping of a row
is pure (``map_record`` in each module); only the readers touch the disk. ``scrm import`` is the shell
that feeds the outcomes to a runtime. See ``docs/importers.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ingest.importers import csv_columns, jsonl, mediacrawler
from ingest.importers.base import ImportOptions, RowOutcome


@dataclass(frozen=True)
class Importer:
    """A format: its name on the command line, what it reads, and its reader."""

    name: str
    summary: str
    read: Callable[[Path, ImportOptions], Iterator[RowOutcome]]


IMPORTERS: tuple[Importer, ...] = (
    Importer(jsonl.NAME, "SocialEvent JSON, one per line", jsonl.read),
    Importer(csv_columns.NAME, "a header row naming SocialEvent fields (author.id, metrics.likes, ...); "
             "--mapping renames columns", csv_columns.read),
    Importer(mediacrawler.NAME, "MediaCrawler's json/jsonl/csv files for xhs, dy, wb, bili, ks, zhihu",
             mediacrawler.read),
)
"""Every import format, in the order ``scrm import --help`` lists them."""


def importer(name: str) -> Importer:
    """The format called ``name``; ``KeyError`` for an unknown one."""
    for candidate in IMPORTERS:
        if candidate.name == name:
            return candidate
    raise KeyError(name)
