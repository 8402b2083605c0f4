"""How every ``scrm`` command logs: as it always has (text), or one JSON object per line on stderr with
``--log-format json`` (or ``SCRM_LOG_FORMAT=json``), for log shippers.

A JSON line holds ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, the record's extra fields
(``logger.info("...", extra={"lane": "enrich"})``) and ``exc`` (the traceback, in the same line) when
there is one. The messages are the text format's: they name lanes, connectors, statuses and reasons,
never secrets or personal data (posts, names), and this module adds nothing else. uvicorn's loggers
(``scrm api``, ``scrm serve``, ``scrm demo``) go through the same handler.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

FORMATS = ("text", "json")
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime", "taskName"}
_state = {"json": False}


class JsonFormatter(logging.Formatter):
    """One JSON object per record (see the module docstring)."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                data[key] = value if isinstance(value, str | int | float | bool | None) else str(value)
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def configure_logging(log_format: str, *, level: int = logging.INFO) -> None:
    """``json``: route every logger through one stderr handler writing JSON lines at ``level``; ``text``:
    leave logging as each command sets it up."""
    if log_format not in FORMATS:
        raise ValueError(f"log format must be one of {FORMATS}")
    _state["json"] = log_format == "json"
    if not _state["json"]:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def uvicorn_log_config() -> dict[str, Any] | None:
    """What to pass uvicorn as ``log_config``: ``None`` in JSON mode (its loggers then propagate to the
    JSON handler), else uvicorn's own default."""
    if _state["json"]:
        return None
    from uvicorn.config import LOGGING_CONFIG

    return LOGGING_CONFIG
