"""The XML of WeChat and WeCom pushes, read safely: ``<xml>`` with one element per field.

XML from the internet is untrusted: parsing goes through defusedxml with DTDs, entity declarations and
external references refused (no billion laughs, no XXE). WeChat never sends any of them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeElementTree
from defusedxml import DefusedXmlException

from ingest.exceptions import InvalidEvent

XmlFields = dict[str, Any]
"""A push as a dict: each child of ``<xml>`` by tag; a leaf is its text exactly (``""`` when empty,
CDATA unwrapped), an element with children a nested dict, a tag that repeats a list."""


def parse_xml(body: bytes, *, where: str = "<payload>") -> XmlFields:
    """The fields of a WeChat-style XML document (root ``<xml>``).

    Pure. Raises ``InvalidEvent(where, reason)`` for anything else: not XML, a DTD or entity, another root,
    an empty body."""
    if not body.strip():
        raise InvalidEvent(where, "empty body")
    try:
        root = SafeElementTree.fromstring(body, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise InvalidEvent(where, f"refused XML construct: {type(exc).__name__}") from exc
    except ParseError as exc:
        raise InvalidEvent(where, f"not XML: {exc}") from exc
    if root.tag != "xml":
        raise InvalidEvent(where, f"root element is <{root.tag}>, expected <xml>")
    fields = _children(root)
    if not fields:
        raise InvalidEvent(where, "<xml> has no fields")
    return fields


def _children(element: Element) -> XmlFields:
    fields: XmlFields = {}
    for child in element:
        value: Any = _children(child) if len(child) else child.text or ""
        if child.tag in fields:
            previous = fields[child.tag]
            fields[child.tag] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            fields[child.tag] = value
    return fields


def optional_text(fields: XmlFields, name: str) -> str | None:
    """A leaf field's text, ``None`` when absent or blank; ``InvalidEvent`` when it is not a leaf."""
    value = fields.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidEvent(name, "expected text, got nested elements")
    return value if value.strip() else None


def required_text(fields: XmlFields, name: str) -> str:
    """A leaf field's text with surrounding blanks removed; ``InvalidEvent`` when absent or blank."""
    value = optional_text(fields, name)
    if value is None:
        raise InvalidEvent(name, "missing")
    return value.strip()


def unix_time(value: str | int, name: str) -> datetime:
    """A Unix time in seconds as an aware UTC datetime; ``InvalidEvent(name, ...)`` when it is not one."""
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()):
        raise InvalidEvent(name, f"expected Unix seconds, got {text[:40]!r}")
    try:
        return datetime.fromtimestamp(int(text), tz=UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise InvalidEvent(name, f"Unix seconds out of range: {text[:40]!r}") from exc
