"""The analyst door's guard: which SQL an analyst may run. Pure: parses, checks, rebuilds; never executes.

``admit`` parses with sqlglot's ClickHouse dialect (never a regex) and admits exactly one statement of the
kinds SELECT (with WITH, UNION, subqueries), EXPLAIN of such a query, SHOW TABLES / DATABASES / CREATE TABLE,
and DESCRIBE. It walks the whole tree and refuses:

- writes and DDL anywhere in the tree, ``SELECT ... INTO`` (sqlglot would turn it into CREATE TABLE),
  ``INTO OUTFILE`` (not parsable), inline ``VALUES`` tables;
- ``SETTINGS`` clauses (they would override the door's limits) and ``FORMAT`` clauses (the driver sets its
  own);
- table functions not on a short allow-list of generators (numbers, zeros, generateRandom, ...): file, url,
  remote, s3, hdfs, executable, mysql, merge (which reads other databases) and everything not listed, because
  ClickHouse keeps adding table functions and an unknown one is safer refused than admitted;
- scalar functions that read outside the database or reveal the host: ``file()`` (chDB reads any file with
  it, even under ``readonly=1``), ``joinGet``, ``dictGet*``, ``getServerSetting``, ``filesystem*``, ...;
- tables outside the analytics database, except harmless ``system`` tables (numbers, one, functions, ...):
  ``system.processes``, ``system.query_log``, ``system.settings`` and the like show other sessions'
  queries, paths and server configuration.

What runs is what was checked: the admitted SQL is regenerated from the parsed tree (comments dropped), so a
construct sqlglot read differently from ClickHouse cannot slip through as the original text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, SqlglotError
from sqlglot.tokens import Token, TokenType

from analytics.exceptions import QueryRefused

DIALECT = "clickhouse"
ALLOWED_KINDS = "one SELECT/WITH/EXPLAIN/SHOW/DESCRIBE statement"

HARMLESS_TABLE_FUNCTIONS = ("numbers", "numbers_mt", "zeros", "zeros_mt", "generate_series", "generateSeries",
                            "primes", "generateRandom")  # generators: they read nothing
OUTSIDE_FUNCTIONS = frozenset(
    {"file", "filecluster", "filesystem", "url", "urlcluster", "remote", "remotesecure", "cluster",
     "clusterallreplicas", "s3", "s3cluster", "gcs", "oss", "cosn", "azureblobstorage", "azureblobstoragecluster",
     "hdfs", "hdfscluster", "executable", "python", "eval", "mysql", "postgresql", "sqlite", "mongodb", "redis",
     "jdbc", "odbc", "bigquery", "ytsaurus", "input", "merge", "dictionary", "view", "viewifpermitted",
     "viewexplain", "loop"}
)  # table functions (or their scalar namesakes) that reach outside the analytics database
OUTSIDE_FUNCTION_PREFIXES = ("iceberg", "deltalake", "hudi", "paimon", "mergetree", "prometheus", "timeseries",
                             "dict")  # dict*: dictGet, dictHas, ... read dictionaries from any source
HOST_FUNCTIONS = frozenset(
    {"joinget", "joingetornull", "getserversetting", "getmacro", "getserverport", "serveruuid",
     "filesystemavailable", "filesystemcapacity", "filesystemunreserved", "currentprofiles", "enabledprofiles",
     "defaultprofiles", "getclienthttpheader", "addresstoline", "addresstolinewithinlines", "addresstosymbol",
     "demangle"}
)  # scalar functions that read other tables by name or reveal the server's configuration
SAFE_SYSTEM_TABLES = frozenset(
    {"one", "numbers", "numbers_mt", "zeros", "zeros_mt", "functions", "data_type_families", "time_zones"}
)
EXPLAIN_KINDS = ("AST", "SYNTAX", "QUERY TREE", "PLAN", "PIPELINE", "ESTIMATE")

_HARMLESS = frozenset(name.lower() for name in HARMLESS_TABLE_FUNCTIONS)
_MARKUP = re.compile(r"\x1b\[[0-9;]*m")  # sqlglot underlines the offending token for terminals
_INTERNALS = re.compile(r"\s*for <class '[^']*'>")  # sqlglot names its own classes in some messages


@dataclass(frozen=True, slots=True)
class AdmittedQuery:
    """A statement the door admits: its kind and the SQL to run (rebuilt from the checked tree)."""

    kind: Literal["select", "explain", "show", "describe"]
    sql: str


def admit(sql: str, *, database: str) -> AdmittedQuery:
    """Check one analyst statement against the door's rules (``database``: the analytics database, the only
    one whose tables may be read). Pure and idempotent; raises ``QueryRefused`` with a message that says
    what was refused and why."""
    try:
        tokens = sqlglot.Dialect.get_or_raise(DIALECT).tokenize(sql)
    except SqlglotError as exc:
        raise QueryRefused(f"refused: the statement could not be read ({_first_line(exc)})") from None
    if not tokens:
        raise QueryRefused(f"refused: the statement is empty; send {ALLOWED_KINDS}")
    words = [t.text.upper() for t in tokens]
    if any(a == "INTO" and b == "OUTFILE" for a, b in zip(words, words[1:], strict=False)):
        raise QueryRefused("refused: INTO OUTFILE is not allowed; results come back as JSON")
    head = tokens[0]
    if head.token_type is TokenType.SHOW or (
        head.token_type is TokenType.COMMAND and head.text.upper() == "EXPLAIN"
    ):
        return _admit_command(tokens, database)
    statement = _parse_one(sql)
    if isinstance(statement, exp.Describe):
        return AdmittedQuery("describe", _describe_sql(statement, database))
    if isinstance(statement, exp.Query):
        _check_tree(statement, database)
        return AdmittedQuery("select", _generate(statement))
    raise QueryRefused(f"refused: only {ALLOWED_KINDS} is allowed, not {_statement_name(statement)}")


def _parse_one(sql: str) -> exp.Expr:
    try:
        statements = [s for s in sqlglot.parse(sql, read=DIALECT) if s is not None]
    except ParseError as exc:
        detail = exc.errors[0] if exc.errors else {}
        where = f" at line {detail.get('line')}, column {detail.get('col')}" if detail else ""
        reason = _INTERNALS.sub("", _MARKUP.sub("", str(detail.get("description", "unexpected syntax"))))
        raise QueryRefused(f"refused: the statement could not be parsed{where}: {reason}") from None
    except SqlglotError as exc:
        raise QueryRefused(f"refused: the statement could not be parsed ({_first_line(exc)})") from None
    except RecursionError:
        raise QueryRefused("refused: the statement is nested too deeply to check") from None
    if len(statements) != 1:
        raise QueryRefused(f"refused: only {ALLOWED_KINDS} is allowed; this text has {len(statements)}")
    return statements[0]


def _check_tree(tree: exp.Expr, database: str) -> None:
    """Refuse anything in ``tree`` that writes, changes settings, or reads outside ``database``."""
    try:
        nodes = list(tree.walk())
    except RecursionError:
        raise QueryRefused("refused: the statement is nested too deeply to check") from None
    for node in nodes:
        if isinstance(node, exp.DML | exp.DDL | exp.Command | exp.Into):
            raise QueryRefused(f"refused: only {ALLOWED_KINDS} is allowed; it contains {_statement_name(node)}")
        if node.args.get("settings"):
            raise QueryRefused("refused: SETTINGS clauses are not allowed; the door sets the query limits")
        if isinstance(node, exp.Query) and node.args.get("format"):
            raise QueryRefused("refused: FORMAT clauses are not allowed; results come back as JSON")
        if isinstance(node, exp.Values):
            raise QueryRefused("refused: inline VALUES tables are not supported; use numbers() or a table")
        if isinstance(node, exp.Table):
            _check_table(node, database)
        elif isinstance(node, exp.In) and isinstance(node.args.get("field"), exp.Column):
            column = node.args["field"]
            _check_table_name(column.table or None, column.name, database)
        elif isinstance(node, exp.Func):
            _check_function(node)


def _check_table(table: exp.Table, database: str) -> None:
    source = table.this
    if isinstance(source, exp.Func):
        name = _function_name(source)
        if name.lower() not in _HARMLESS:
            why = "reaches outside the analytics database" if _reaches_outside(name) else "is not on the allow-list"
            allowed = ", ".join(HARMLESS_TABLE_FUNCTIONS)
            raise QueryRefused(f"refused: table function {name}() {why} (allowed: {allowed})")
        return
    if not isinstance(source, exp.Identifier) or table.args.get("catalog"):
        raise QueryRefused(f"refused: {table.sql(dialect=DIALECT)} is not a table of the analytics database")
    _check_table_name(table.db or None, table.name, database)


def _check_table_name(db: str | None, name: str, database: str) -> None:
    if db is None or db == database or (db == "system" and name in SAFE_SYSTEM_TABLES):
        return
    safe = ", ".join(f"system.{t}" for t in sorted(SAFE_SYSTEM_TABLES))
    raise QueryRefused(f"refused: {db}.{name} is outside the analytics database; readable: {database}.*, {safe}")


def _check_function(func: exp.Func) -> None:
    name = _function_name(func)
    if name.lower() in HOST_FUNCTIONS or _reaches_outside(name):
        raise QueryRefused(f"refused: function {name}() reads outside the analytics database or the host")


def _reaches_outside(name: str) -> bool:
    lower = name.lower()
    return lower in OUTSIDE_FUNCTIONS or lower.startswith(OUTSIDE_FUNCTION_PREFIXES)


def _function_name(func: exp.Func) -> str:
    """The name ClickHouse will see: sqlglot's generated call, up to its parenthesis."""
    if isinstance(func, exp.Anonymous):
        return str(func.name)
    return func.sql(dialect=DIALECT).split("(", 1)[0].strip().strip('"`')


def _describe_sql(describe: exp.Describe, database: str) -> str:
    target = describe.this
    if describe.args.get("format"):
        raise QueryRefused("refused: FORMAT clauses are not allowed; results come back as JSON")
    if isinstance(target, exp.Table) and isinstance(target.this, exp.Identifier):
        _check_table(target, database)
    elif isinstance(target, exp.Subquery):
        _check_tree(target, database)
    else:
        raise QueryRefused("refused: DESCRIBE takes a table of the analytics database or a (SELECT ...)")
    return _generate(describe)


def _admit_command(tokens: list[Token], database: str) -> AdmittedQuery:
    """EXPLAIN and SHOW: sqlglot keeps their text as one string token; check it with a small grammar."""
    head, rest = tokens[0], tokens[1:]
    if rest and rest[-1].token_type is TokenType.SEMICOLON:
        rest = rest[:-1]
    if len(rest) != 1 or rest[0].token_type is not TokenType.STRING:
        raise QueryRefused(f"refused: only {ALLOWED_KINDS} is allowed; this text has more than one")
    body = rest[0].text
    if head.token_type is TokenType.SHOW:
        return AdmittedQuery("show", "SHOW " + _show_sql(body, database))
    words = [w.upper() for w in body.split()]
    kind = next((k for k in EXPLAIN_KINDS if words[: len(k.split())] == k.split()), None)
    skip = len(kind.split()) if kind else 0
    parts = body.split(None, skip)
    inner = _parse_one(parts[skip] if len(parts) > skip else "")
    if not isinstance(inner, exp.Query):
        raise QueryRefused("refused: EXPLAIN takes a SELECT (or WITH ... SELECT) query")
    _check_tree(inner, database)
    return AdmittedQuery("explain", f"EXPLAIN {kind or 'PLAN'} {_generate(inner)}")


def _show_sql(body: str, database: str) -> str:
    """``TABLES [FROM db] [[NOT] [I]LIKE 'p'] [LIMIT n]``, ``DATABASES [...]`` or ``CREATE [TABLE] [db.]t``,
    rebuilt from its tokens with identifiers and strings re-quoted."""
    try:
        tokens = sqlglot.Dialect.get_or_raise(DIALECT).tokenize(body)
    except SqlglotError:
        tokens = []
    words = [t.text.upper() for t in tokens]
    if words[:1] == ["CREATE"]:
        start = 2 if words[1:2] == ["TABLE"] else 1
        names = tokens[start:]
        if len(names) == 3 and names[1].token_type is TokenType.DOT and _is_name(names[0]) and _is_name(names[2]):
            db, name = names[0].text, names[2].text
        elif len(names) == 1 and _is_name(names[0]):
            db, name = database, names[0].text
        else:
            raise _show_refused()
        _check_table_name(db, name, database)
        return f"CREATE TABLE {_quote_identifier(db)}.{_quote_identifier(name)}"
    if words[:1] not in (["TABLES"], ["DATABASES"]):
        raise _show_refused()
    clauses, i = [words[0]], 1
    if words[0] == "TABLES" and words[i : i + 1] in (["FROM"], ["IN"]) and i + 1 < len(tokens):
        db = tokens[i + 1].text
        if not _is_name(tokens[i + 1]) or db not in (database, "system"):
            raise QueryRefused(f"refused: SHOW TABLES lists the {database} or system database only")
        clauses.append(f"FROM {_quote_identifier(db)}")
        i += 2
    negated = words[i : i + 1] == ["NOT"]
    j = i + negated
    pattern_follows = j + 1 < len(tokens) and tokens[j + 1].token_type is TokenType.STRING
    if words[j : j + 1] in (["LIKE"], ["ILIKE"]) and pattern_follows:
        pattern = exp.Literal.string(tokens[j + 1].text).sql(dialect=DIALECT)
        clauses.append(("NOT " if negated else "") + f"{words[j]} {pattern}")
        i = j + 2
    if words[i : i + 1] == ["LIMIT"] and i + 1 < len(tokens) and tokens[i + 1].text.isdigit():
        clauses.append(f"LIMIT {int(tokens[i + 1].text)}")
        i += 2
    if i != len(tokens):
        raise _show_refused()
    return " ".join(clauses)


def _show_refused() -> QueryRefused:
    return QueryRefused(
        "refused: SHOW takes TABLES [FROM db] [LIKE 'pattern'] [LIMIT n], DATABASES, or CREATE TABLE name"
    )


def _is_name(token: Token) -> bool:
    return token.token_type is TokenType.IDENTIFIER or token.text.isidentifier()


def _quote_identifier(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def _generate(tree: exp.Expr) -> str:
    return tree.sql(dialect=DIALECT, comments=False)


def _statement_name(node: exp.Expr) -> str:
    """``INSERT``, ``TRUNCATE TABLE``, ``OPTIMIZE``, ...: what the analyst wrote, in words."""
    if isinstance(node, exp.Command):
        return str(node.this).upper()
    if isinstance(node, exp.Into):
        return "SELECT ... INTO"
    return re.sub(r"(?<!^)(?=[A-Z])", " ", type(node).__name__).upper()


def _first_line(exc: Exception) -> str:
    return _MARKUP.sub("", str(exc)).splitlines()[0][:200] if str(exc) else type(exc).__name__
