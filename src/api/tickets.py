"""Short-lived signed tickets for what a browser cannot send headers with: the console's Server-Sent Events
stream (``EventSource`` has no way to set ``X-API-Key``). Pure.

A ticket is ``<expiry>.<role>.<signature>``: the Unix second it expires (``TICKET_SECONDS`` after it was
issued), the role of the key that asked for it, and an HMAC-SHA256 over both and the one path it opens
(``scope``), keyed by a secret derived from the process's API keys, so every API process behind a load
balancer (same keys) accepts the tickets of the others, and a ticket is worth nothing once its key set
changes. A ticket in a URL can leak like a key, but it opens one read-only stream for a minute; an API key
in a URL is refused outright (``api.deps``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

TICKET_SECONDS = 60
STREAM_SCOPE = "/v1/alerts/stream"


class StreamTickets:
    """Issues and checks tickets; ``keys`` (key -> role) seeds the secret, ``clock`` gives aware datetimes."""

    def __init__(self, keys: Mapping[str, str], *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        material = "\n".join(sorted(f"{key}:{role}" for key, role in keys.items())).encode()
        self._secret = hashlib.sha256(b"scrm stream tickets\n" + material).digest()
        self._clock = clock

    def issue(self, role: str, scope: str = STREAM_SCOPE) -> str:
        """A ticket for ``role`` opening ``scope`` for ``TICKET_SECONDS``."""
        expiry = int(self._clock().timestamp()) + TICKET_SECONDS
        return f"{expiry}.{role}.{self._sign(expiry, role, scope)}"

    def role_of(self, ticket: str, scope: str) -> str | None:
        """The role a valid, unexpired ticket for ``scope`` carries; ``None`` for anything else."""
        parts = ticket.split(".")
        if len(parts) != 3 or not parts[0].isdigit():
            return None
        expiry, role, signature = int(parts[0]), parts[1], parts[2]
        if expiry < self._clock().timestamp():
            return None
        if not hmac.compare_digest(signature, self._sign(expiry, role, scope)):
            return None
        return role

    def _sign(self, expiry: int, role: str, scope: str) -> str:
        digest = hmac.new(self._secret, f"{expiry}\n{role}\n{scope}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")
