"""Short-lived signed tickets for what a browser cannot send headers with: the console's Server-Sent Events
stream (``EventSource`` has no way to set ``X-API-Key``). Pure.

A ticket is ``<expiry>.<name>.<signature>``: the Unix second it expires (``TICKET_SECONDS`` after it was
issued), the name of the key that asked for it (base64url), and an HMAC-SHA256 over both and the one path
it opens (``scope``). The secret is ``SCRM_TICKET_SECRET`` when set (the same on every API process behind
a load balancer, so each accepts the others' tickets), else derived from the bootstrap keys, else random
per process. The API honours a ticket only while the key it names is still active (``api.deps``), so
revoking a key closes its tickets too. A ticket in a URL can leak like a key, but it opens one read-only
stream for a minute; an API key in a URL is refused outright.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

TICKET_SECONDS = 60
STREAM_SCOPE = "/v1/alerts/stream"


def ticket_secret(configured: str | None, bootstrap: Mapping[str, str]) -> bytes:
    """The signing secret: from ``configured``, else from the bootstrap keys, else random (this process)."""
    if configured:
        material = configured.encode()
    elif bootstrap:
        material = "\n".join(sorted(f"{key}:{role}" for key, role in bootstrap.items())).encode()
    else:
        material = secrets.token_bytes(32)
    return hashlib.sha256(b"scrm stream tickets\n" + material).digest()


class StreamTickets:
    """Issues and checks tickets signed with ``secret``; ``clock`` gives aware datetimes."""

    def __init__(self, secret: bytes, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._secret = secret
        self._clock = clock

    def issue(self, name: str, scope: str = STREAM_SCOPE) -> str:
        """A ticket for the key called ``name``, opening ``scope`` for ``TICKET_SECONDS``."""
        expiry = int(self._clock().timestamp()) + TICKET_SECONDS
        encoded = base64.urlsafe_b64encode(name.encode()).decode().rstrip("=")
        return f"{expiry}.{encoded}.{self._sign(expiry, name, scope)}"

    def name_of(self, ticket: str, scope: str) -> str | None:
        """The key name a valid, unexpired ticket for ``scope`` carries; ``None`` for anything else."""
        parts = ticket.split(".")
        if len(parts) != 3 or not parts[0].isdigit():
            return None
        expiry, signature = int(parts[0]), parts[2]
        try:
            name = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
        if expiry < self._clock().timestamp():
            return None
        if not hmac.compare_digest(signature, self._sign(expiry, name, scope)):
            return None
        return name

    def _sign(self, expiry: int, name: str, scope: str) -> str:
        digest = hmac.new(self._secret, f"{expiry}\n{name}\n{scope}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")
