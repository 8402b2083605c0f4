"""Who is calling: API keys, hashed, and the person or service each one names.

A key made by ``scrm keys create`` is ``scrm_<key id>_<secret>``: 12 hex characters of public id and 256
random bits. The database keeps the key's SHA-256 beside its id and name (``profile_store.api_keys``); the
key itself is printed once and kept nowhere. ``Keyring`` answers "whose key is this?": it finds the one
stored key with the request's id and compares hashes with ``hmac.compare_digest``, so neither a lookup nor
a comparison leaks how much of a guess was right. Bootstrap keys (``SCRM_API_KEYS``: ``key:role`` pairs,
for the first admin) are hashed when the process starts and the plaintext is not kept; they are named
``env:<role>`` (``env:<role>:<n>`` from the second of a role on), which no stored key can be called.

The keyring re-reads the stored keys at most every ``refresh_seconds`` (on the request that finds them
older), so a key created or revoked with the command line opens or stops opening a running API within
seconds, whichever process serves the request. A database that cannot be read keeps the last keys read.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session, sessionmaker

from profile_store.api_keys import StoredKey, list_keys

Role = Literal["agent", "marketer", "analyst", "ingest", "admin"]
ROLES: tuple[Role, ...] = ("agent", "marketer", "analyst", "ingest", "admin")
REFRESH_SECONDS = 2.0

_KEY_FORMAT = re.compile(r"^scrm_([0-9a-f]{12})_[A-Za-z0-9_-]{43}$")
log = logging.getLogger(__name__)


class Principal(BaseModel):
    """Who a request acts as: the key's ``name`` (recorded on every action) and its ``role``."""

    model_config = ConfigDict(frozen=True)

    name: str
    role: Role


def hash_key(key: str) -> str:
    """The stored form of a key: SHA-256, hex."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def new_key() -> tuple[str, str]:
    """A fresh key and its public id: ``(key, key_id)``."""
    key_id = secrets.token_hex(6)
    return f"scrm_{key_id}_{secrets.token_urlsafe(32)}", key_id


def key_id_of(key: str) -> str | None:
    """The public id a key made by ``new_key`` carries; ``None`` for any other string."""
    found = _KEY_FORMAT.match(key)
    return found.group(1) if found else None


def bootstrap_principals(keys: Mapping[str, Role]) -> list[tuple[str, Principal]]:
    """``(hash, principal)`` of each bootstrap key, named ``env:<role>[:<n>]`` in a stable order."""
    seen: dict[str, int] = {}
    out: list[tuple[str, Principal]] = []
    for key, role in sorted(keys.items(), key=lambda item: (item[1], hash_key(item[0]))):
        seen[role] = seen.get(role, 0) + 1
        name = f"env:{role}" if seen[role] == 1 else f"env:{role}:{seen[role]}"
        out.append((hash_key(key), Principal(name=name, role=role)))
    return out


class Keyring:
    """Thread-safe. ``bootstrap`` maps plaintext keys to roles (hashed here, then dropped); ``load`` reads
    every stored key (blocking; ``None`` when keys live only in the environment); ``now`` gives aware
    datetimes (expiry), ``monotonic`` seconds (refresh)."""

    def __init__(self, bootstrap: Mapping[str, Role], load: Callable[[], Sequence[StoredKey]] | None = None, *,
                 refresh_seconds: float = REFRESH_SECONDS,
                 now: Callable[[], datetime] = lambda: datetime.now(UTC),
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._bootstrap = bootstrap_principals(bootstrap)
        self._load = load
        self._refresh_seconds = refresh_seconds
        self._now = now
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._stored: dict[str, StoredKey] = {}
        self._loaded_at: float | None = None
        self._failing = False

    def authenticate(self, key: str) -> Principal | None:
        """The active principal the key names; ``None`` for an unknown, revoked or expired key."""
        digest = hash_key(key)
        key_id = key_id_of(key)
        if key_id is not None:
            stored = self._current().get(key_id)
            if stored is not None and hmac.compare_digest(digest, stored.secret_hash):
                return self._principal_of(stored)
            return None
        found: Principal | None = None
        for stored_hash, principal in self._bootstrap:
            if hmac.compare_digest(digest, stored_hash):
                found = principal
        return found

    def principal(self, name: str) -> Principal | None:
        """The active principal called ``name`` (what a stream ticket names), or ``None``."""
        for _, principal in self._bootstrap:
            if principal.name == name:
                return principal
        for stored in self._current().values():
            if stored.name == name:
                return self._principal_of(stored)
        return None

    def any_active(self) -> bool:
        """Whether any stored key is active now (what was read last; ``refresh`` first for the latest)."""
        now = self._now()
        return any(key.active(now) for key in self._stored.values())

    def refresh(self) -> None:
        """Re-read the stored keys now (blocks on the database); keeps the last keys if that fails."""
        if self._load is None:
            return
        try:
            keys = self._load()
        except Exception as exc:  # the API keeps answering with the keys it has
            if not self._failing:
                log.warning("cannot read the API keys (%s); keeping the %d keys read before",
                            type(exc).__name__, len(self._stored))
            self._failing = True
        else:
            self._stored = {key.key_id: key for key in keys}
            self._failing = False
        self._loaded_at = self._monotonic()

    def _current(self) -> dict[str, StoredKey]:
        if self._load is not None:
            loaded_at = self._loaded_at
            if loaded_at is None or self._monotonic() - loaded_at >= self._refresh_seconds:
                with self._lock:
                    if self._loaded_at == loaded_at:
                        self.refresh()
        return self._stored

    def _principal_of(self, stored: StoredKey) -> Principal | None:
        if not stored.active(self._now()) or stored.role not in ROLES:
            return None
        return Principal(name=stored.name, role=stored.role)  # type: ignore[arg-type]


def database_keys(session_factory: sessionmaker[Session]) -> Callable[[], list[StoredKey]]:
    """A ``Keyring`` loader reading every stored key (blocks on the database)."""

    def load() -> list[StoredKey]:
        with session_factory() as session:
            return list_keys(session=session)

    return load
