"""Errors raised by the ingest package.

``InvalidEvent`` means "this input can never become a valid event": the caller dead-letters it with the
original bytes. Anything else is a transient or programming error and must retry or crash loudly.
"""


class InvalidEvent(ValueError):
    """Input that cannot be turned into a ``SocialEvent``.

    ``field`` names the offending field (dotted path, or ``"<payload>"`` for the whole input) and ``reason``
    says what is wrong with it, so a dead-letter row is actionable without reading code.
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class PlatformApiError(RuntimeError):
    """A platform's API answered a call with an error code (``code``, ``message`` as it said it). Not bad
    input: a configuration or transient problem, so the caller retries later and keeps its cursor."""

    def __init__(self, platform: str, code: int, message: str) -> None:
        super().__init__(f"{platform} API error {code}: {message}")
        self.platform = platform
        self.code = code
        self.message = message


class BatchTooLarge(ValueError):
    """A request holding more items than one call accepts (``limit``). Not a dead letter: nothing in it was
    judged; the caller answers 413 and the sender splits the batch."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} items in one request; split it")
        self.limit = limit


class ConnectorsFileError(ValueError):
    """The connectors file (or an ``SCRM_CONNECTORS__*`` variable) is not a valid set of connectors. The
    message names the connector and the key, never a value (values may be secrets)."""


class IntakeUnavailable(RuntimeError):
    """The intake could not make records durable (broker or journal unreachable, acknowledgement timed
    out). Transient: answer 503 so the sender retries; some records may already be durable (at least once)."""


class ConnectorRefused(RuntimeError):
    """A platform refuses a poll connector (401/403: bad or expired credentials, no access; another 4xx: a
    bad query or setting). ``status`` is the HTTP status; the message never holds a secret. Not retried
    soon: someone must fix the connector's config."""

    def __init__(self, connector: str, status: int, reason: str) -> None:
        super().__init__(f"connector {connector!r} refused ({status}): {reason}")
        self.connector = connector
        self.status = status
        self.reason = reason


class PollUnavailable(RuntimeError):
    """A poll could not go on for now (retries of a 5xx or a timeout exhausted, a rate-limit wait longer than
    the poller accepts, an unreadable page): the cursor stays where it was and the next poll tries again."""
