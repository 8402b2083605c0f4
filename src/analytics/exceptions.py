"""Errors raised by the analytics package."""


class UnsafeQuery(ValueError):
    """An analyst query that is not a single read-only statement."""
