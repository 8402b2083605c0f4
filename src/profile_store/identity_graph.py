"""The identity graph, pure: deterministic customer ids, link ids, connected components and which
customer id a component keeps.

A component's customer is the one its earliest-seen acting identity created (``uuid5`` of that key), so
"the older customer survives" a merge, and after an unlink each part gets back exactly the id it had.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime

from profile_store.contracts import IdentityLink, Provenance

CUSTOMER_NAMESPACE = uuid.UUID("6f1d3c2e-5b8a-4c59-9a8e-2f4b7d1e0c11")
LINK_NAMESPACE = uuid.UUID("3a9c4e1f-2b7d-4f60-8e5a-1c2d3e4f5a6b")


def new_customer_id(identity_key: str) -> str:
    """The customer id an identity gets on its own: uuid5 of its key. Deterministic, so workers create
    customers without coordinating."""
    return str(uuid.uuid5(CUSTOMER_NAMESPACE, identity_key))


def link_id_for(a: str, b: str) -> str:
    """uuid5 of the unordered pair: the same link stated twice is one link."""
    first, second = sorted((a, b))
    return str(uuid.uuid5(LINK_NAMESPACE, f"{first}|{second}"))


def make_link(a: str, b: str, provenance: Provenance, at: datetime) -> IdentityLink:
    """A link between two distinct identity keys (ends sorted). Raises ``ValueError`` for a self-link."""
    if a == b:
        raise ValueError(f"cannot link {a!r} to itself")
    first, second = sorted((a, b))
    return IdentityLink(link_id=link_id_for(a, b), a=first, b=second, provenance=provenance, created_at=at)


def components(keys: Iterable[str], links: Iterable[IdentityLink]) -> list[frozenset[str]]:
    """Connected components of ``keys`` plus every link end (union-find with path halving)."""
    parent: dict[str, str] = {}

    def find(key: str) -> str:
        parent.setdefault(key, key)
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for key in keys:
        find(key)
    for link in links:
        root_a, root_b = find(link.a), find(link.b)
        if root_a != root_b:
            parent[max(root_a, root_b)] = min(root_a, root_b)
    groups: dict[str, set[str]] = {}
    for key in parent:
        groups.setdefault(find(key), set()).add(key)
    return sorted((frozenset(group) for group in groups.values()), key=min)


def elect_customer_id(component: Iterable[str], first_seen: Mapping[str, datetime | None]) -> str:
    """The component's customer id: that of its earliest-seen acting identity (ties by key); a component
    with no acting identity keeps the id of its smallest key."""
    keys = sorted(component)
    acting = sorted((seen, key) for key in keys if (seen := first_seen.get(key)) is not None)
    return new_customer_id(acting[0][1] if acting else keys[0])
