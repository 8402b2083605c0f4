"""``column IN (values)`` whose SQL text does not depend on how many values there are."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, any_, bindparam
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import QueryableAttribute, Session


def any_of(
    column: ColumnElement[Any] | QueryableAttribute[Any], values: Iterable[Any], *, session: Session
) -> ColumnElement[bool]:
    """``column = ANY(:array)`` on PostgreSQL: one bound array, so a statement keeps one SQL text however
    many values a batch brings, and psycopg prepares it once instead of PostgreSQL parsing and planning
    a new ``IN (...)`` list per batch. Elsewhere (SQLite) ``column IN (...)``."""
    if session.get_bind().dialect.name != "postgresql":
        return column.in_(list(values))
    return column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(column.type)))
