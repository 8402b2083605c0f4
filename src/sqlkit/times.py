"""Datetimes read back from the stores."""

from __future__ import annotations

from datetime import UTC, datetime


def as_aware(value: datetime) -> datetime:
    """SQLite returns naive datetimes (stored as UTC): the same instant, timezone-aware; aware ones as they are."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)
