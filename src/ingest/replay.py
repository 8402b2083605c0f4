"""File replay: a JSON-lines file as raw records, one per non-blank line, bytes untouched."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path


def read_jsonl(path: Path) -> Iterator[bytes]:
    """Yield each non-blank line of ``path`` without its line ending, as bytes (bad UTF-8 included, so it
    can be dead-lettered as received). Blocks on file I/O."""
    with path.open("rb") as handle:
        for line in handle:
            stripped = line.rstrip(b"\r\n")
            if stripped.strip():
                yield stripped
