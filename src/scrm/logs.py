"""How every ``scrm`` command logs: as it always has (text), or one JSON object per line on stderr with
``--log-format json`` (or ``SCRM_LOG_FORMAT=json``), for log shippers.

A JSON line holds ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``, the record's extra fields
(``logger.info("...", extra={"lane": "enrich"})``) and ``exc`` (the traceback, in the same line) when
there is one. The messages are the text format's: they name lanes, connectors, statuses and reasons,
never secrets or personal data (posts, names), and this module adds nothing else. uvicorn's loggers
(``scrm api``, ``scrm serve``, ``scrm demo``) go through the same handler, and their access lines pass
``RedactSecrets`` in both formats: a ticket, token, key or signature in a URL's query string is logged
as ``<redacted>``.
"""

from __future__ import annotations

import copy
import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

FORMATS = ("text", "json")
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime", "taskName"}
_state = {"json": False}
_SECRET_PARAMETER = re.compile(
    r"([?&](?:ticket|api_key|apikey|key|token|access_token|signature|msg_signature|sign|echostr|hub\.verify_token)=)"
    r"[^&\s\"]*", re.IGNORECASE)


def redact(text: str) -> str:
    """``text`` with the value of every secret-bearing query parameter replaced by ``<redacted>``."""
    return _SECRET_PARAMETER.sub(r"\1<redacted>", text)


class RedactSecrets(logging.Filter):
    """Redacts secret query parameters in a record's message and string arguments (uvicorn's access line
    carries the path with its query string as an argument). Never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in record.args)
        return True


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
    logging.getLogger("uvicorn.access").addFilter(RedactSecrets())
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def uvicorn_log_config() -> dict[str, Any] | None:
    """What to pass uvicorn as ``log_config``: ``None`` in JSON mode (its loggers then propagate to the
    JSON handler, the access logger already redacting), else uvicorn's own default with ``RedactSecrets``
    on its access handler."""
    if _state["json"]:
        return None
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact"] = {"()": RedactSecrets}
    config["handlers"]["access"]["filters"] = ["redact"]
    return config
