"""A progress line on stderr for long commands: redrawn in place on a terminal, a plain line now and then
otherwise (a log file or CI keeps a readable record). Shows counts and a rate, never content."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

TTY_REDRAW_SECONDS = 0.1
PLAIN_LINE_SECONDS = 10.0


class Progress:
    """Counts rows of a named unit (``tick``); ``label`` (e.g. the file being read) is shown beside them.
    ``clock`` is monotonic seconds (injected by tests); ``stream`` defaults to stderr."""

    def __init__(self, unit: str, *, stream: TextIO | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self._unit = unit
        self._stream = stream or sys.stderr
        self._tty = self._stream.isatty()
        self._clock = clock
        self._started = self._last = clock()
        self._every = TTY_REDRAW_SECONDS if self._tty else PLAIN_LINE_SECONDS
        self.count = 0
        self.label = ""

    def tick(self, n: int = 1) -> None:
        """Count ``n`` more; redraw when it is time."""
        self.count += n
        now = self._clock()
        if now - self._last >= self._every:
            self._last = now
            self._draw(now)

    def done(self) -> None:
        """Draw the final count (and end the line on a terminal)."""
        self._draw(self._clock())
        if self._tty:
            print(file=self._stream, flush=True)

    def _draw(self, now: float) -> None:
        rate = self.count / max(1e-9, now - self._started)
        text = f"{self.count:>10,} {self._unit}  {rate:>9,.0f} {self._unit}/s  {self.label}"
        if self._tty:
            print(f"\r\x1b[2K{text}", end="", file=self._stream, flush=True)
        else:
            print(text.strip(), file=self._stream, flush=True)
