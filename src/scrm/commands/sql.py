"""``scrm sql "SELECT ..."``: an analyst query through the analyst door, printed as a table, CSV, JSON or JSON
lines.

Where it runs, first match wins:

- ``--api URL`` (with ``--api-key`` or ``$SCRM_API_KEY``, an analyst key): ``POST /v1/analytics/query`` of a
  running ``scrm serve`` / ``scrm demo`` / ``scrm api``: the way to query a data dir another process holds;
- ``--clickhouse-dsn`` or ``$SCRM_CLICKHOUSE_DSN`` (the Kafka runtime's ClickHouse server);
- the data dir's chDB store (``--data-dir``, ``$SCRM_DATA_DIR`` or ``.scrm``). chDB lets one process open a
  data dir: when ``scrm serve`` or ``scrm demo`` holds it, the command says so and names ``--api``.

Every route goes through the door (``analytics.door``, ``analytics.analyst``): one read-only statement, with
the configured time, memory and row limits (``SCRM_ANALYST__*``). A refused, failed or cut query exits
non-zero with one line on stderr (2 refused, 1 failed, 3 cut at a limit, 4 the store or API failed, 5 busy,
130 interrupted); progress of a long query goes to stderr.
"""

from __future__ import annotations

import argparse
import csv
import fcntl
import io
import json
import os
import sys
import threading
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

if TYPE_CHECKING:
    import httpx

    from analytics.analyst import AnalystDoorConfig, AnalystResult

PROGRESS_EVERY_S = 5.0
T = TypeVar("T")
_KINDS = {"refused": "refused", "failed": "failed", "cut": "cut", "busy": "busy", "cancelled": "interrupted"}
EXIT = {"refused": 2, "failed": 1, "cut": 3, "store": 4, "busy": 5, "interrupted": 130}


class SqlCommandError(Exception):
    """A one-line reason the query gave no result, and the exit code that says which kind."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(" ".join(message.split()))
        self.code = code


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "sql", help="run one read-only analyst query (SELECT, WITH, EXPLAIN, SHOW, DESCRIBE) over ClickHouse",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("sql", help='the statement, e.g. "SELECT platform, count() FROM events_current GROUP BY 1"')
    parser.add_argument("--data-dir", type=Path, help="embedded state directory (default: $SCRM_DATA_DIR or .scrm)")
    parser.add_argument("--clickhouse-dsn", help="a ClickHouse server (default: $SCRM_CLICKHOUSE_DSN)")
    parser.add_argument("--api", metavar="URL", help="a running scrm API, e.g. http://127.0.0.1:8000")
    parser.add_argument("--api-key", help="an analyst API key for --api (default: $SCRM_API_KEY)")
    parser.add_argument("--format", choices=("table", "csv", "json", "jsonl"), default="table")
    parser.add_argument("--output", type=Path, help="write the result here instead of stdout")
    parser.add_argument("--max-rows", type=int, default=None, help="rows returned at most (the door caps it)")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    try:
        result = _run(args)
    except SqlCommandError as exc:
        print(f"scrm sql: {exc}", file=sys.stderr)
        return exc.code
    text = render(result, args.format)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    if result.truncated:
        print(f"scrm sql: only the first {len(result.rows)} rows (the result has more; add a LIMIT or --max-rows)",
              file=sys.stderr)
    return 0


def _run(args: argparse.Namespace) -> AnalystResult:
    if args.api:
        key = args.api_key or os.environ.get("SCRM_API_KEY")
        if not key:
            raise SqlCommandError("--api needs an analyst key: --api-key KEY or $SCRM_API_KEY", EXIT["refused"])
        return run_via_api(args.api, key, args.sql, max_rows=args.max_rows)
    from scrm.wiring import embedded_settings

    settings = embedded_settings(args.data_dir)
    dsn = args.clickhouse_dsn or os.environ.get("SCRM_CLICKHOUSE_DSN")
    if not dsn:
        store = settings.data_dir / "analytics"
        check_data_dir(store)
        from analytics.client import chdb_dsn

        dsn = chdb_dsn(store)
    return run_through_door(dsn, settings.analyst, args.sql, max_rows=args.max_rows)


def free_analytics_dsn(data_dir: Path) -> str | None:
    """The chDB DSN of ``data_dir``'s analytics store, ``None`` when it has none; raises ``SqlCommandError``
    when another process holds it (``check_data_dir``)."""
    from analytics.client import chdb_dsn

    store = data_dir / "analytics"
    if not store.is_dir():
        return None
    check_data_dir(store)
    return chdb_dsn(store)


def check_data_dir(store: Path) -> None:
    """Raise ``SqlCommandError`` when ``store`` (a data dir's chDB directory) does not exist or another
    process holds it (chDB's ``status`` file lock; its text names the holder's PID)."""
    if not store.is_dir():
        raise SqlCommandError(f"no analytics store at {store}: run `scrm run` or `scrm demo` on this data dir first",
                              EXIT["store"])
    status = store / "status"
    if not status.exists():
        return
    with status.open("rb") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder_pid(handle.read().decode(errors="replace"))
            if holder != os.getpid():  # this process's own engine holds it: its clients may share it
                raise SqlCommandError(
                    f"the data dir {store.parent} is held by process {holder or '?'} (scrm serve or scrm demo); "
                    "chDB lets one process open it: query through that process's API with "
                    "--api http://HOST:PORT --api-key ANALYST_KEY (POST /v1/analytics/query)",
                    EXIT["store"],
                ) from None
        else:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _holder_pid(status_text: str) -> int | None:
    for line in status_text.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "PID" and value.strip().isdigit():
            return int(value.strip())
    return None


def run_through_door(dsn: str, config: AnalystDoorConfig, sql: str, *, max_rows: int | None = None) -> AnalystResult:
    """Open the door's own clients on ``dsn``, run ``sql`` once (cancelled on Ctrl-C), close. Blocks;
    raises ``SqlCommandError``."""
    from analytics.analyst import open_analyst_door
    from analytics.exceptions import AnalystQueryError

    try:
        door = open_analyst_door(dsn, config)
    except Exception as exc:
        raise SqlCommandError(f"cannot open the analytics store ({type(exc).__name__})", EXIT["store"]) from None
    try:
        query = door.prepare(sql, max_rows=max_rows)
        return _with_progress(query.run, query.cancel, limit_s=config.max_execution_time_s)
    except AnalystQueryError as exc:
        raise SqlCommandError(str(exc), _code(str(exc))) from None
    finally:
        door.close()


def run_via_api(url: str, key: str, sql: str, *, max_rows: int | None = None,
                http: httpx.Client | None = None) -> AnalystResult:
    """``POST /v1/analytics/query`` on the API at ``url`` (``http``: a client to use instead of a new one).
    Blocks; raises ``SqlCommandError`` with the API's own one-line reason."""
    import httpx

    from analytics.analyst import AnalystResult

    body: dict[str, Any] = {"sql": sql, **({"max_rows": max_rows} if max_rows else {})}
    client = http or httpx.Client(timeout=None)
    try:
        response = _with_progress(
            lambda: client.post(f"{url.rstrip('/')}/v1/analytics/query", json=body, headers={"X-API-Key": key}),
            lambda: None, limit_s=None,
        )
    except httpx.HTTPError as exc:
        raise SqlCommandError(f"the API at {url} did not answer ({type(exc).__name__})", EXIT["store"]) from None
    finally:
        if http is None:
            client.close()
    if response.status_code == 200:
        return AnalystResult.model_validate(response.json())
    try:
        detail = str(response.json().get("detail", ""))
    except ValueError:
        detail = ""
    if response.status_code in (401, 403):
        raise SqlCommandError(f"the API refused the key ({response.status_code}): an analyst key is needed",
                              EXIT["refused"])
    raise SqlCommandError(detail or f"the API answered {response.status_code}", _code(detail))


def _code(message: str) -> int:
    """The exit code of a door message (they start with ``refused:``, ``failed:``, ``cut:``, ...)."""
    if message.startswith("failed: the analytics store"):
        return EXIT["store"]
    return EXIT[_KINDS.get(message.split(":", 1)[0], "store")]


def _with_progress(run: Callable[[], T], cancel: Callable[[], None], *, limit_s: float | None) -> T:
    """``run()``, telling stderr every few seconds that it still runs; Ctrl-C calls ``cancel`` and raises
    ``SqlCommandError``."""
    done = threading.Event()

    def report() -> None:
        waited = 0.0
        while not done.wait(PROGRESS_EVERY_S):
            waited += PROGRESS_EVERY_S
            limit = f" of its {limit_s:g} s limit" if limit_s else ""
            print(f"scrm sql: still running ({waited:g} s{limit}; Ctrl-C stops it)", file=sys.stderr, flush=True)

    reporter = threading.Thread(target=report, name="scrm-sql-progress", daemon=True)
    reporter.start()
    try:
        return run()
    except KeyboardInterrupt:
        cancel()
        raise SqlCommandError("interrupted: the query was cancelled", EXIT["interrupted"]) from None
    finally:
        done.set()


def render(result: AnalystResult, fmt: str) -> str:
    """The result as ``table`` (aligned, with a header), ``csv`` (with a header), ``json`` (an array of
    objects) or ``jsonl`` (an object per line). Pure."""
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(result.columns)
        writer.writerows([[_text(v) for v in row] for row in result.rows])
        return buffer.getvalue()
    if fmt in ("json", "jsonl"):
        objects = [dict(zip(result.columns, row, strict=True)) for row in result.rows]
        if fmt == "json":
            return json.dumps(objects, default=_jsonable, ensure_ascii=False, indent=2) + "\n"
        return "".join(json.dumps(o, default=_jsonable, ensure_ascii=False) + "\n" for o in objects)
    return _table(result)


def _table(result: AnalystResult) -> str:
    cells = [[_text(v).replace("\n", " ") for v in row] for row in result.rows]
    widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(result.columns)]

    def line(values: list[str]) -> str:
        return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    out = io.StringIO()
    out.write(line(result.columns) + "\n" + line(["-" * w for w in widths]) + "\n")
    for row in cells:
        out.write(line(row) + "\n")
    out.write(f"({len(cells)} row{'s' if len(cells) != 1 else ''})\n")
    return out.getvalue()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, default=_jsonable, ensure_ascii=False)
    return value.isoformat() if isinstance(value, (datetime, date)) else str(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (Decimal, UUID)):
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return str(value)
