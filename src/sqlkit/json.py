"""JSON columns without a second serialisation: payloads pydantic already rendered pass through as text."""

from __future__ import annotations

import json


class JsonText(str):
    """A value already serialised as JSON (e.g. ``model.model_dump_json()``), stored as is in a JSON column
    of an engine built with ``json_serializer=dump_json``. Read back, it is parsed like any JSON value."""


def dump_json(value: object) -> str:
    """The engines' JSON serializer: ``JsonText`` unchanged, anything else through ``json.dumps``."""
    return value if isinstance(value, JsonText) else json.dumps(value)
