"""``--log-format json``: one JSON object per record, extras kept, a traceback in the same line; text mode
leaves logging alone."""

from __future__ import annotations

import json
import logging

import pytest

from scrm import logs


@pytest.fixture
def restore_root():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    logs._state["json"] = False


def test_json_lines_carry_time_level_logger_message_and_extras(restore_root, capsys):
    logs.configure_logging("json")
    logging.getLogger("scrm.worker").info("lane %s finished", "enrich", extra={"lane": "enrich", "batch": 32})
    line = json.loads(capsys.readouterr().err.strip())
    assert line["level"] == "INFO" and line["logger"] == "scrm.worker" and line["message"] == "lane enrich finished"
    assert (line["lane"], line["batch"]) == ("enrich", 32) and line["time"].endswith("+00:00")
    assert logs.uvicorn_log_config() is None


def test_an_exception_is_one_line_with_its_traceback(restore_root, capsys):
    logs.configure_logging("json")
    try:
        raise ValueError("broken")
    except ValueError:
        logging.getLogger("x").exception("it failed")
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "ValueError: broken" in json.loads(lines[0])["exc"]


def test_text_mode_leaves_logging_as_the_commands_set_it_up(restore_root):
    before = logging.getLogger().handlers[:]
    logs.configure_logging("text")
    assert logging.getLogger().handlers == before and logs.uvicorn_log_config() is not None
    with pytest.raises(ValueError):
        logs.configure_logging("xml")
