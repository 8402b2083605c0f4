"""Reading export files as streams of records, never the whole file at once.

Each reader yields ``Record``s in file order: the record's 1-based number, its bytes as read, and its
parsed value, or the ``InvalidEvent`` that says why it could not be parsed (the caller dead-letters it).
A leading UTF-8 byte-order mark is tolerated everywhere (MediaCrawler writes its CSV files with one).
Readers block on file I/O; they hold at most one record (and one read chunk) in memory.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from ingest.exceptions import InvalidEvent
from ingest.importers.base import UnreadableFile
from ingest.replay import read_jsonl

CHUNK_CHARS = 1 << 16
MAX_RECORD_CHARS = 64 << 20
"""A JSON record longer than this ends the file's reading with an error (no export row is near it)."""
_BOM = b"\xef\xbb\xbf"
_WHITESPACE = " \t\r\n"


@dataclass(frozen=True, slots=True)
class Record:
    """One record of a file: ``value`` parsed, or ``error`` saying why not (then ``value`` is ``None``)."""

    number: int
    original: bytes
    value: Any = None
    error: InvalidEvent | None = None


def jsonl_records(path: Path) -> Iterator[Record]:
    """Each non-blank line of a JSON-lines file, parsed (``ingest.replay.read_jsonl`` reads it)."""
    for number, line in enumerate(read_jsonl(path), start=1):
        yield _parsed(number, line.removeprefix(_BOM) if number == 1 else line)


def _parsed(number: int, line: bytes) -> Record:
    try:
        return Record(number, line, value=json.loads(line))
    except UnicodeDecodeError as exc:
        return Record(number, line, error=InvalidEvent("<payload>", f"not valid UTF-8 at byte {exc.start}"))
    except json.JSONDecodeError as exc:
        return Record(number, line, error=InvalidEvent("<payload>", f"not JSON: {exc.msg} at column {exc.colno}"))
    except RecursionError:
        return Record(number, line, error=InvalidEvent("<payload>", "JSON nested too deeply"))


def json_array_records(path: Path) -> Iterator[Record]:
    """Each element of a file holding one JSON array (as MediaCrawler's ``json`` store writes), parsed
    incrementally; a file holding one JSON object is one record. Where the file stops being valid JSON,
    one error record holds what follows (cut at ``MAX_RECORD_CHARS``) and reading ends."""
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        yield from _ArrayScanner(handle).records()


class _ArrayScanner:
    """Walks ``[ value , value ... ]`` over chunks of text, decoding one value at a time."""

    def __init__(self, handle: TextIO) -> None:
        self._handle = handle
        self._buffer = ""
        self._pos = 0
        self._eof = False
        self._decoder = json.JSONDecoder()

    def records(self) -> Iterator[Record]:
        try:
            first = self._next_char()
            if first == "":
                return
            if first != "[":
                yield self._value(1)
                return
            self._pos += 1
            number = 0
            if self._next_char() == "]":
                return
            while True:
                number += 1
                self._next_char()
                record = self._value(number)
                yield record
                if record.error is not None:
                    return
                separator = self._next_char()
                if separator == "]":
                    return
                if separator != ",":
                    yield self._broken(number + 1, "expected ',' or ']' between array elements")
                    return
                self._pos += 1
        except UnicodeDecodeError as exc:
            yield Record(0, b"", error=InvalidEvent("<payload>", f"not valid UTF-8 ({exc.reason})"))

    def _value(self, number: int) -> Record:
        while True:
            try:
                value, end = self._decoder.raw_decode(self._buffer, self._pos)
            except json.JSONDecodeError as exc:
                if self._eof or len(self._buffer) - self._pos > MAX_RECORD_CHARS:
                    return self._broken(number, f"not JSON: {exc.msg}")
                self._fill()
                continue
            except RecursionError:
                return self._broken(number, "JSON nested too deeply")
            if end == len(self._buffer) and not self._eof:  # a number cut by the chunk may go on
                self._fill()
                continue
            text = self._buffer[self._pos:end]
            self._pos = end
            return Record(number, text.encode("utf-8"), value=value)

    def _broken(self, number: int, reason: str) -> Record:
        rest = self._buffer[self._pos:self._pos + MAX_RECORD_CHARS]
        while not self._eof and len(rest) < MAX_RECORD_CHARS:
            self._fill()
            rest = self._buffer[self._pos:self._pos + MAX_RECORD_CHARS]
        return Record(number, rest.encode("utf-8"), error=InvalidEvent("<payload>", f"record {number}: {reason}"))

    def _next_char(self) -> str:
        """The next non-whitespace character (``""`` at the end of the file), not consumed."""
        while True:
            while self._pos < len(self._buffer) and self._buffer[self._pos] in _WHITESPACE:
                self._pos += 1
            if self._pos < len(self._buffer):
                return self._buffer[self._pos]
            if self._eof:
                return ""
            self._fill()

    def _fill(self) -> None:
        chunk = self._handle.read(CHUNK_CHARS)
        self._buffer = self._buffer[self._pos:] + chunk
        self._pos = 0
        self._eof = not chunk


@contextmanager
def csv_records(path: Path) -> Iterator[tuple[list[str], Iterator[Record]]]:
    """Open a CSV file: its header (first row) and its records, each a dict of column -> cell text, read
    as they are iterated; the file is closed when the block ends. A record with more cells than the header
    has columns is an error record; blank records are left out. Raises ``UnreadableFile`` for a file
    without a header row or whose header is not UTF-8 CSV."""
    with path.open("r", encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
        except (csv.Error, UnicodeDecodeError) as exc:
            raise UnreadableFile(path, f"the header row is not UTF-8 CSV ({exc})") from exc
        if not header:
            raise UnreadableFile(path, "no header row")
        yield header, _csv_rows(reader, header)


def _csv_rows(reader: Any, header: list[str]) -> Iterator[Record]:
    number = 0
    while True:
        try:
            cells = next(reader, None)
        except csv.Error as exc:
            number += 1
            yield Record(number, b"", error=InvalidEvent("<payload>", f"not CSV at line {reader.line_num}: {exc}"))
            continue
        except UnicodeDecodeError as exc:
            yield Record(number + 1, b"", error=InvalidEvent("<payload>", f"not valid UTF-8 ({exc.reason})"))
            return
        if cells is None:
            return
        if any(cell.strip() for cell in cells):
            number += 1
            yield _csv_record(number, header, cells)


def _csv_record(number: int, header: list[str], cells: list[str]) -> Record:
    row = dict(zip(header, cells, strict=False))
    if len(cells) <= len(header):
        return Record(number, json.dumps(row, ensure_ascii=False).encode("utf-8"), value=row)
    original = json.dumps({**row, "": cells[len(header):]}, ensure_ascii=False).encode("utf-8")
    reason = f"{len(cells)} cells, but the header has {len(header)} columns"
    return Record(number, original, error=InvalidEvent("<payload>", reason))
