"""Errors raised by the alerts package."""


class AlertNotFound(LookupError):
    """No alert with the given id."""
