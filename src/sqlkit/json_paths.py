"""Reading inside JSON columns, on SQLite and PostgreSQL alike.

Each helper takes the JSON column, a path of object keys and the dialect name (``"sqlite"`` or
``"postgresql"``), and builds an expression whose values travel as bound parameters: the path too (a
``$."a"."b"`` string on SQLite, a ``text[]`` on PostgreSQL, where the column is read as ``jsonb``).
A value of another JSON type than the one asked for reads as SQL ``NULL``, so a comparison never fails on
a row whose JSON holds something unexpected, and both dialects answer the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Float,
    String,
    and_,
    bindparam,
    case,
    cast,
    exists,
    func,
    literal,
    select,
)
from sqlalchemy.dialects import postgresql

JsonKind = Literal["number", "string", "boolean"]
"""A JSON type, named as PostgreSQL's ``jsonb_typeof`` names it."""

_SQLITE_TYPES: dict[JsonKind, tuple[str, ...]] = {"number": ("integer", "real"), "string": ("text",),
                                                   "boolean": ("true", "false")}


def json_value(column: ColumnElement[Any], path: Sequence[str], kind: JsonKind, *, dialect: str) -> ColumnElement[Any]:
    """The value at ``path`` as a SQL number (double precision), string or boolean when the JSON there is of
    that ``kind``; ``NULL`` when the path is missing or holds another type. Raises ``ValueError`` for a
    key SQLite's path syntax cannot quote (one containing ``"``)."""
    if dialect == "postgresql":
        node = _jsonb_at(column, path)
        text = cast(column, postgresql.JSONB()).op("#>>", return_type=String())(_text_array(path))
        typed: ColumnElement[Any] = (text if kind == "string" else cast(text, Float()) if kind == "number"
                                     else cast(text, Boolean()))
        return case((func.jsonb_typeof(node) == kind, typed))
    where = _sqlite_path(path)
    json_type = func.json_type(column, where)
    if kind == "boolean":
        return case((json_type.in_(_SQLITE_TYPES["boolean"]), json_type == "true"))
    return case((json_type.in_(_SQLITE_TYPES[kind]), func.json_extract(column, where)))


def json_present(column: ColumnElement[Any], path: Sequence[str], *, dialect: str) -> ColumnElement[bool]:
    """Whether ``path`` exists and holds something other than JSON ``null``."""
    if dialect == "postgresql":
        return func.coalesce(func.jsonb_typeof(_jsonb_at(column, path)) != "null", False)
    return func.coalesce(func.json_type(column, _sqlite_path(path)) != "null", False)


def json_object_has_key(column: ColumnElement[Any], path: Sequence[str], key: str, *, dialect: str) -> ColumnElement[bool]:
    """Whether the JSON object at ``path`` has ``key`` (``False`` when there is no object there)."""
    if dialect == "postgresql":
        node = _jsonb_at(column, path)
        return and_(func.coalesce(func.jsonb_typeof(node) == "object", False), node.has_key(bindparam(None, key, String())))
    return _sqlite_each(column, path, "object", lambda each: each.c.key == literal(key, String()))


def json_array_has(column: ColumnElement[Any], path: Sequence[str], item: str, *, dialect: str) -> ColumnElement[bool]:
    """Whether the JSON array at ``path`` has the string ``item`` among its elements (``False`` when there
    is no array there)."""
    if dialect == "postgresql":
        node = _jsonb_at(column, path)
        wanted = bindparam(None, [item], type_=postgresql.JSONB())
        return and_(func.coalesce(func.jsonb_typeof(node) == "array", False), node.contains(wanted))
    return _sqlite_each(column, path, "array",
                        lambda each: and_(each.c.type == "text", each.c.value == literal(item, String())))


def _jsonb_at(column: ColumnElement[Any], path: Sequence[str]) -> Any:
    """``CAST(column AS jsonb) #> :path``: the ``jsonb`` node at ``path`` (``NULL`` when missing)."""
    return cast(column, postgresql.JSONB()).op("#>", return_type=postgresql.JSONB())(_text_array(path))


def _text_array(path: Sequence[str]) -> ColumnElement[Any]:
    return bindparam(None, list(path), type_=postgresql.ARRAY(String()))


def _sqlite_path(path: Sequence[str]) -> ColumnElement[str]:
    for key in path:
        if '"' in key:
            raise ValueError(f"JSON key {key!r} contains a double quote")
    return literal("$" + "".join(f'."{key}"' for key in path), String())


def _sqlite_each(column: ColumnElement[Any], path: Sequence[str], container: str, test: Any) -> ColumnElement[bool]:
    """SQLite: the value at ``path`` is a JSON ``container`` and one of its entries (a ``json_each`` row with
    ``key``, ``value`` and ``type``) passes ``test``."""
    where = _sqlite_path(path)
    each = func.json_each(column, where).table_valued("key", "value", "type")
    entry = exists(select(literal(1)).select_from(each).where(test(each)))
    return and_(func.coalesce(func.json_type(column, where) == container, False), entry)
