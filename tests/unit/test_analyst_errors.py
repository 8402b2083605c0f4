"""Engine errors told to the analyst (pure): which limit cut the query, what was wrong with the SQL, and
never the server's stack trace, version, paths or host."""

from __future__ import annotations

import pytest
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError

from analytics.analyst import AnalystDoorConfig
from analytics.analyst_errors import translate_error
from analytics.exceptions import QueryCancelled, QueryCut, QueryFailed, QueryRefused, StoreFailed

CONFIG = AnalystDoorConfig(max_execution_time_s=30, max_memory_usage_bytes=1 << 30, max_rows_to_read=5000)
SERVER_TAIL = " (version 24.8.4.13 (official build))\nStack trace:\n0. DB::Exception::Exception() @ 0x0c /usr/bin/clickhouse"


def _engine(code: int, text: str, name: str) -> DatabaseError:
    return DatabaseError(f"Code: {code}. DB::Exception: {text}. ({name}){SERVER_TAIL}", code=code, name=name)


@pytest.mark.parametrize(
    ("error", "kind", "message"),
    [
        (_engine(159, "Timeout exceeded: elapsed 30000.1 ms, maximum: 30000 ms", "TIMEOUT_EXCEEDED"), QueryCut,
         "cut: the query ran past its 30 s limit; filter on occurred_at or aggregate more"),
        (_engine(241, "Query memory limit exceeded: would use 1.00 GiB", "MEMORY_LIMIT_EXCEEDED"), QueryCut,
         "cut: the query needed more than its 1024 MiB of memory; group by fewer keys or select fewer columns"),
        (_engine(158, "Limit for rows (controlled by 'max_rows_to_read' setting) exceeded", "TOO_MANY_ROWS"), QueryCut,
         "cut: the query would read more than 5,000 rows; filter on occurred_at or platform first"),
        (_engine(164, "default: Cannot execute query in readonly mode", "READONLY"), QueryRefused,
         "refused: the analyst door is read-only; the query tried to write or change a setting"),
        (_engine(394, "Query was cancelled", "QUERY_WAS_CANCELLED"), QueryCancelled,
         "cancelled: the query was stopped by an operator"),
    ],
)
def test_each_limit_and_refusal_has_its_own_clear_message(error, kind, message):
    translated = translate_error(error, config=CONFIG, cancelled=False)
    assert type(translated) is kind
    assert str(translated) == message


def test_a_mistake_keeps_the_engines_sentence_without_scope_version_trace_or_paths():
    error = _engine(60, "Unknown table expression identifier 'evnts' in scope /* scrm-analyst:ab12:cd34 */ SELECT * "
                        "FROM evnts", "UNKNOWN_TABLE")
    translated = translate_error(error, config=CONFIG, cancelled=False)
    assert isinstance(translated, QueryFailed)
    assert str(translated) == "failed: UNKNOWN_TABLE: Unknown table expression identifier 'evnts'"


def test_a_store_failure_names_only_the_error_kind():
    keeper = _engine(999, "Coordination::Exception: Connection loss, path /clickhouse/tables/01/events", "KEEPER_EXCEPTION")
    timeout = OperationalError("HTTPConnectionPool(host='ch-prod-7.internal', port=8123): Read timed out")

    assert str(translate_error(keeper, config=CONFIG, cancelled=False)) == (
        "failed: the analytics store could not run the query (KEEPER_EXCEPTION)")
    translated = translate_error(timeout, config=CONFIG, cancelled=False)
    assert isinstance(translated, StoreFailed) and "ch-prod-7" not in str(translated)


def test_a_cancel_the_door_asked_for_says_the_client_went_away():
    error = _engine(394, "Query was cancelled", "QUERY_WAS_CANCELLED")
    assert "its client went away" in str(translate_error(error, config=CONFIG, cancelled=True))
