"""The analyst door's guard (pure, no engine): exactly one read-only statement of the allowed kinds, nothing
that reaches outside the analytics database, and the SQL that runs is rebuilt from the checked tree."""

from __future__ import annotations

import pytest

from analytics.door import admit
from analytics.exceptions import QueryRefused


def _admit(sql: str):  # type: ignore[no-untyped-def]
    return admit(sql, database="scrm")


@pytest.mark.parametrize(
    ("sql", "kind", "runs"),
    [
        ("SELECT 1", "select", "SELECT 1"),
        ("WITH 2 AS x SELECT x * 21 AS answer;", "select", "WITH 2 AS x SELECT x * 21 AS answer"),
        ("SELECT brand, count() FROM scrm.events FINAL GROUP BY brand", "select",
         "SELECT brand, count() FROM scrm.events FINAL GROUP BY brand"),
        ("SELECT count() FROM events", "select", "SELECT count() FROM events"),
        ("SELECT 1 UNION ALL SELECT 2", "select", "SELECT 1 UNION ALL SELECT 2"),
        ("(SELECT 1)", "select", "(SELECT 1)"),
        ("SELECT number FROM numbers(3)", "select", "SELECT number FROM numbers(3)"),
        ("SELECT count() FROM system.numbers", "select", "SELECT count() FROM system.numbers"),
        ("EXPLAIN SELECT 1", "explain", "EXPLAIN PLAN SELECT 1"),
        ("explain pipeline SELECT count() FROM events", "explain", "EXPLAIN PIPELINE SELECT count() FROM events"),
        ("SHOW TABLES", "show", "SHOW TABLES"),
        ("SHOW TABLES FROM scrm LIKE 'ev%' LIMIT 3", "show", "SHOW TABLES FROM `scrm` LIKE 'ev%' LIMIT 3"),
        ("SHOW CREATE TABLE scrm.events", "show", "SHOW CREATE TABLE `scrm`.`events`"),
        ("DESCRIBE TABLE scrm.events", "describe", "DESCRIBE scrm.events"),
        ("DESC (SELECT 1 AS one)", "describe", "DESCRIBE (SELECT 1 AS one)"),
    ],
)
def test_the_allowed_kinds_are_admitted_as_rebuilt_sql(sql, kind, runs):
    admitted = _admit(sql)
    assert (admitted.kind, admitted.sql) == (kind, runs)


def test_comments_are_dropped_so_none_can_hide_a_second_clause():
    assert _admit("SELECT 1 -- */ , file('/etc/passwd') /*").sql == "SELECT 1"
    assert _admit("/* hi */ SELECT getSetting('readonly') AS ro --").sql == "SELECT getSetting('readonly') AS ro"


@pytest.mark.parametrize(
    ("sql", "says"),
    [
        ("WITH 1 AS a INSERT INTO t SELECT a", "not INSERT"),
        ("INSERT INTO scrm.events (event_key) VALUES ('x')", "not INSERT"),
        ("ALTER TABLE scrm.events DELETE WHERE 1", "not ALTER"),
        ("DROP TABLE scrm.events", "not DROP"),
        ("TRUNCATE TABLE scrm.events", "not TRUNCATE TABLE"),
        ("SET readonly = 0", "not SET"),
        ("OPTIMIZE TABLE scrm.events FINAL", "not OPTIMIZE"),
        ("SELECT 1; DROP TABLE scrm.events", "this text has 2"),
        ("SELECT 1; SELECT 2", "this text has 2"),
        ("SHOW TABLES; DROP TABLE scrm.events", "more than one"),
        ("EXPLAIN SELECT 1; DROP TABLE scrm.events", "more than one"),
        ("", "empty"),
        ("-- nothing", "empty"),
        ("SELECT * INTO t FROM scrm.events", "SELECT ... INTO"),
    ],
)
def test_anything_but_one_read_only_statement_is_refused(sql, says):
    with pytest.raises(QueryRefused, match="^refused: ") as refused:
        _admit(sql)
    assert says in str(refused.value)
    assert "SELECT/WITH/EXPLAIN/SHOW/DESCRIBE statement" in str(refused.value)


@pytest.mark.parametrize(
    ("sql", "function"),
    [
        ("SELECT * FROM file('/etc/passwd')", "file"),
        ("SELECT * FROM FILE('/etc/passwd', 'LineAsString')", "FILE"),
        ("SELECT * FROM url('http://127.0.0.1/x', 'CSV', 'a String')", "url"),
        ("SELECT * FROM remote('127.0.0.1', system.one)", "remote"),
        ("SELECT * FROM s3('http://bucket/key')", "s3"),
        ("SELECT * FROM hdfs('hdfs://x/y')", "hdfs"),
        ("SELECT * FROM executable('ls', 'TSV', 'a String')", "executable"),
        ("SELECT * FROM mysql('h', 'd', 't', 'u', 'p')", "mysql"),
        ("SELECT * FROM merge('scrm', '.*')", "merge"),
        ("SELECT * FROM icebergS3('http://x')", "icebergS3"),
        ("SELECT * FROM scrm.events AS e JOIN url('http://x', 'CSV') AS u ON 1", "url"),
        ("SELECT (SELECT count() FROM remote('h', db.t))", "remote"),
        ("SELECT 1 WHERE 1 IN (SELECT * FROM file('a'))", "file"),
        ("EXPLAIN SELECT * FROM file('/etc/passwd')", "file"),
    ],
)
def test_table_functions_that_reach_outside_are_refused_wherever_they_stand(sql, function):
    with pytest.raises(QueryRefused, match=rf"table function {function}\(\) reaches outside"):
        _admit(sql)


def test_a_table_function_not_on_the_allow_list_is_refused_too():
    with pytest.raises(QueryRefused, match=r"table function brandNewSource\(\) is not on the allow-list"):
        _admit("SELECT * FROM brandNewSource('x')")


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT file('/etc/passwd')",  # chDB reads any file with it, even with readonly=1
        "SELECT 'root' IN file('/etc/passwd')",
        "SELECT joinGet('other.t', 'v', 1)",
        "SELECT dictGet('d', 'a', toUInt64(1))",
        "SELECT getServerSetting('path')",
        "SELECT filesystemAvailable()",
    ],
)
def test_scalar_functions_that_read_outside_or_reveal_the_host_are_refused(sql):
    with pytest.raises(QueryRefused, match=r"reads outside the analytics database or the host"):
        _admit(sql)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM system.processes",
        "SELECT query FROM system.query_log",
        "SELECT * FROM system.settings",
        "SELECT 1 IN system.users",
        "SELECT * FROM other_db.secrets",
        "DESCRIBE system.users",
        "SHOW CREATE TABLE system.processes",
    ],
)
def test_tables_outside_the_analytics_database_are_refused(sql):
    with pytest.raises(QueryRefused, match=r"is outside the analytics database; readable: scrm\.\*"):
        _admit(sql)


@pytest.mark.parametrize(
    ("sql", "says"),
    [
        ("SELECT 1 SETTINGS readonly = 0", "SETTINGS clauses are not allowed"),
        ("SELECT * FROM (SELECT 1 SETTINGS max_execution_time = 3600)", "SETTINGS clauses are not allowed"),
        ("SELECT 1 UNION ALL SELECT 2 SETTINGS max_threads = 64", "SETTINGS clauses are not allowed"),
        ("SELECT * FROM scrm.events INTO OUTFILE '/tmp/x'", "INTO OUTFILE is not allowed"),
        ("SELECT 1 FORMAT JSON", "FORMAT clauses are not allowed"),
        ("SELECT * FROM (VALUES (1))", "inline VALUES"),
        ("SHOW PROCESSLIST", "SHOW takes TABLES"),
        ("SHOW GRANTS", "SHOW takes TABLES"),
        ("SHOW TABLES FROM other_db", "lists the scrm or system database only"),
        ("SHOW TABLES LIMIT 1.5", "SHOW takes TABLES"),
        ("DESCRIBE file('/etc/passwd')", "DESCRIBE takes a table"),
        ("EXPLAIN INSERT INTO t VALUES (1)", "EXPLAIN takes a SELECT"),
        ("SELECT " + "(" * 500 + "1" + ")" * 500, "nested too deeply"),
        ("SELECT FROM WHERE", "could not be parsed"),
    ],
)
def test_clauses_that_would_lift_limits_or_write_files_are_refused(sql, says):
    with pytest.raises(QueryRefused, match="^refused: ") as refused:
        _admit(sql)
    assert says in str(refused.value)
