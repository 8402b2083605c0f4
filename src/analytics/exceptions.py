"""Errors raised by the analytics package.

The analyst door's errors carry, as their ``str()``, a message meant for the analyst: it says what happened
and what to change, and never echoes server internals (stack traces, versions, paths, settings).
"""

from __future__ import annotations

from typing import Literal


class AnalystQueryError(Exception):
    """An analyst query that gave no result."""


class QueryRefused(AnalystQueryError):
    """The door refused the statement: not one read-only statement of an allowed kind, a table function or
    table outside the analytics database, a ``SETTINGS``/``FORMAT``/``INTO`` clause; or the engine itself
    refused it as a write."""


class DoorBusy(AnalystQueryError):
    """Every analyst slot is taken; the query did not start. Try again when one finishes."""


class QueryCut(AnalystQueryError):
    """The engine stopped the query at one of its limits (``limit`` says which)."""

    def __init__(self, message: str, *, limit: Literal["time", "memory", "rows_to_read", "result"]) -> None:
        super().__init__(message)
        self.limit = limit


class QueryCancelled(AnalystQueryError):
    """The query was cancelled before it finished (its caller went away, or an operator killed it)."""


class QueryFailed(AnalystQueryError):
    """The query ran into an error of its own: an unknown column, a type mismatch, a syntax ClickHouse
    does not accept."""


class StoreFailed(AnalystQueryError):
    """The analytics store could not run the query (unreachable, or an error not of the query's making)."""
