"""Errors raised by the alerts package."""


class AlertNotFound(LookupError):
    """No alert (incident) with the given id."""


class InvalidTransition(ValueError):
    """An incident lifecycle move its state forbids (e.g. acknowledging a resolved incident)."""


class DeliveryFailed(RuntimeError):
    """A channel did not accept a message (network error, non-2xx status or an error code in the body).
    Retried with backoff; dead-lettered after the last attempt."""
