"""Errors raised by the stream runtimes."""


class DeadLetterRatioExceeded(RuntimeError):
    """Too large a share of recent input was dead-lettered: the consumer stops loudly."""
