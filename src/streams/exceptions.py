"""Errors raised by the stream runtimes."""


class DeadLetterRatioExceeded(RuntimeError):
    """Too large a share of recent input was dead-lettered: the consumer stops loudly."""


class PublishFailed(RuntimeError):
    """Kafka did not acknowledge every message of a batch's output; the batch is retried, not committed."""
