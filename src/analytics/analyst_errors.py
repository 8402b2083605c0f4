"""Engine errors of analyst queries, told to the analyst: what stopped the query and what to change, never
the server's internals (stack traces, versions, file paths, settings). The full text goes to the log."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from analytics.exceptions import (
    AnalystQueryError,
    QueryCancelled,
    QueryCut,
    QueryFailed,
    QueryRefused,
    StoreFailed,
)

if TYPE_CHECKING:
    from analytics.analyst import AnalystDoorConfig

log = logging.getLogger(__name__)

CANCELLED = "cancelled: the query was stopped before it finished (its client went away)"

# errors in the analyst's own SQL: their message (cleaned) helps, and reveals only what the analyst sent
ANALYST_MISTAKE_PREFIXES = ("UNKNOWN_", "ILLEGAL_", "CANNOT_PARSE_", "CANNOT_CONVERT_", "TOO_FEW_ARGUMENTS",
                            "TOO_MANY_ARGUMENTS", "NUMBER_OF_ARGUMENTS")
ANALYST_MISTAKES = frozenset(
    {"SYNTAX_ERROR", "TYPE_MISMATCH", "NOT_AN_AGGREGATE", "AMBIGUOUS_COLUMN_NAME", "NO_COMMON_TYPE",
     "BAD_ARGUMENTS", "ARGUMENT_OUT_OF_BOUND", "DECIMAL_OVERFLOW", "SAMPLING_NOT_SUPPORTED", "TOO_LARGE_ARRAY_SIZE",
     "INCORRECT_QUERY", "NOT_IMPLEMENTED", "FUNCTION_THROW_IF_VALUE_IS_NON_ZERO", "SIZES_OF_ARRAYS_DONT_MATCH"}
)

_NAME = re.compile(r"\(([A-Z][A-Z0-9_]+)\)")
_DETAIL_TAIL = re.compile(
    r"(\s*\(version [^)]*\).*|\s*Stack trace.*|[.:]?\s*In (scope|query) .*|:\s*While (executing|processing) .*)$",
    re.IGNORECASE | re.DOTALL,
)
_PATH = re.compile(r"(?<![\w/])/(?:[\w.-]+/)+[\w.-]*")  # absolute paths say where the server keeps things
_MARKER = re.compile(r"/\* scrm-analyst:[0-9a-f:]+ \*/\s*")


def translate_error(exc: Exception, *, config: AnalystDoorConfig, cancelled: bool) -> AnalystQueryError:
    """The door's error for a driver or engine error ``exc`` of an analyst query (``cancelled``: the door
    was asked to cancel it). Pure apart from logging the original."""
    text = str(exc)
    name = getattr(exc, "name", None) or _last_name(text)
    log.info("analyst query stopped: %s", _MARKER.sub("", text)[:2000])
    if name == "QUERY_WAS_CANCELLED":
        return QueryCancelled(CANCELLED if cancelled else "cancelled: the query was stopped by an operator")
    if name == "TIMEOUT_EXCEEDED":
        return QueryCut(
            f"cut: the query ran past its {config.max_execution_time_s:g} s limit; filter on occurred_at "
            "or aggregate more",
            limit="time",
        )
    if name == "MEMORY_LIMIT_EXCEEDED":
        return QueryCut(
            f"cut: the query needed more than its {config.max_memory_usage_bytes / (1 << 20):.4g} MiB of memory; "
            "group by fewer keys or select fewer columns",
            limit="memory",
        )
    if name == "TOO_MANY_ROWS":
        return QueryCut(
            f"cut: the query would read more than {config.max_rows_to_read:,} rows; filter on occurred_at or "
            "platform first",
            limit="rows_to_read",
        )
    if name in ("TOO_MANY_ROWS_OR_BYTES", "TOO_LARGE_STRING_SIZE"):
        return QueryCut("cut: the result is larger than the door returns; add a LIMIT", limit="result")
    if name in ("READONLY", "ACCESS_DENIED"):
        return QueryRefused(
            "refused: the analyst door is read-only; the query tried to write or change a setting"
        )
    if name and (name in ANALYST_MISTAKES or name.startswith(ANALYST_MISTAKE_PREFIXES)):
        return QueryFailed(f"failed: {name}: {_clean(text)}")
    log.warning(
        "analyst query failed in the store (%s): %s", name or type(exc).__name__, _MARKER.sub("", text)[:2000]
    )
    return StoreFailed(f"failed: the analytics store could not run the query ({name or 'no answer'})")


def _last_name(text: str) -> str | None:
    names = _NAME.findall(text)
    return names[-1] if names else None


def _clean(text: str) -> str:
    """The engine's sentence about the analyst's SQL: no code prefix, marker, scope dump, version or path."""
    message = text.split("Stack trace", 1)[0].rsplit("DB::Exception: ", 1)[-1]
    message = _MARKER.sub("", message)
    message = _NAME.sub("", message)
    message = _DETAIL_TAIL.sub("", message.strip())
    message = _PATH.sub("<path>", message)
    message = " ".join(message.split()).rstrip(" .")
    return message[:300] or "the engine refused the query"
