"""What the stand-ins of the polled platforms share: the request they are asked, the answer they give, a
brand's listing of native items (newest first, ids growing with time as on the platforms), and stable
native ids for simulated authors.

Pure but for the lock-free ``Listing`` (the server serialises calls to a stand-in).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from ingest.contracts import SocialEvent


@dataclass(frozen=True)
class Request:
    """One HTTP request to a stand-in: ``path`` below the platform's prefix, query ``params``, lower-cased
    ``headers`` and a form body (``form``)."""

    method: str
    path: str
    params: Mapping[str, str]
    headers: Mapping[str, str]
    form: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Answer:
    """A stand-in's answer: status, JSON body, headers. ``listing``: it answered a listing request (what
    ``fail`` and ``hold`` count), not a token request."""

    status: int
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)
    listing: bool = True

    def encoded(self) -> bytes:
        return json.dumps(self.body, ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True)
class Item:
    """One native item of a listing: ``position`` orders the listing (larger is newer), ``event_ids`` are
    what the platform's adapter makes of it."""

    position: int
    body: dict[str, Any]
    event_ids: tuple[str, ...]


class Listing:
    """A brand's items of one listing, in publishing order (positions strictly growing)."""

    def __init__(self) -> None:
        self._items: list[Item] = []

    @property
    def last_position(self) -> int:
        return self._items[-1].position if self._items else 0

    def add(self, item: Item) -> None:
        if item.position <= self.last_position:
            raise ValueError("positions must grow")
        self._items.append(item)

    def page(self, *, above: int | None = None, below: int | None = None, size: int) -> tuple[list[Item], bool]:
        """Up to ``size`` items newer than ``above`` and older than ``below``, newest first, and whether
        more of them remain after the page."""
        found = [item for item in reversed(self._items)
                 if (above is None or item.position > above) and (below is None or item.position < below)]
        return found[:size], len(found) > size


class PolledStandIn(Protocol):
    """One platform's stand-in, registered in ``ingest.simulator.polled.STANDINS`` by platform name."""

    def publish(self, event: SocialEvent) -> tuple[str, ...]:
        """Render ``event`` into the brand's listing as the platform would list it; the event ids its
        adapter will make of it, ``()`` when the platform's listings would not carry it."""
        ...

    def answer(self, request: Request, brand_of: Mapping[str, str]) -> Answer:
        """The platform's answer to ``request``; ``brand_of`` maps credentials to brands."""
        ...

    def failure(self, status: int, headers: Mapping[str, str], now: datetime) -> Answer:
        """An error answer with ``status`` in the platform's shape (429: its rate-limit headers)."""
        ...

    def connector(self, brand: str, base_url: str, credential: str) -> dict[str, Any]:
        """The connectors-file table (without ``platform`` and ``brand``) of a connector for ``brand``
        polling this stand-in at ``base_url`` with ``credential``."""
        ...

    def pages(self, brand: str, size: int) -> Iterator[tuple[str, Any]]:
        """Every page a first drain of each of ``brand``'s listings answers (``size`` items a page), as
        ``(endpoint name, page JSON)``: what ``scrm simulate --format platform`` writes."""
        ...


def digits(seed: str, length: int) -> str:
    """A stable numeric string of ``length`` digits (no leading zero) derived from ``seed``."""
    number = int(hashlib.sha256(seed.encode()).hexdigest(), 16)
    return str(10 ** (length - 1) + number % (9 * 10 ** (length - 1)))


def letters(seed: str, length: int, alphabet: str = "abcdefghijklmnopqrstuvwxyz0123456789") -> str:
    """A stable string of ``length`` characters of ``alphabet`` derived from ``seed``."""
    number = int(hashlib.sha256(seed.encode()).hexdigest(), 16)
    out = []
    for _ in range(length):
        number, rest = divmod(number, len(alphabet))
        out.append(alphabet[rest])
    return "".join(out)


def has_hints(event: SocialEvent) -> bool:
    """The event carries identity hints (an e-mail, a phone...): no platform listing does, so the demo keeps
    such events as CRM-style JSON and the stand-ins do not list them."""
    hints = event.identity_hints
    return any(getattr(hints, name) for name in type(hints).model_fields)


def unix(at: datetime) -> int:
    return int(at.astimezone(UTC).timestamp())


def error_body(status: int, title: str) -> dict[str, Any]:
    """A generic problem body for answers a platform gives without its own shape (5xx from a proxy)."""
    return {"status": status, "error": title}
