"""Parsed profiles kept between batches, so a customer's profile is not validated from JSON per event."""

from __future__ import annotations

from collections import OrderedDict

from profile_store.contracts import CustomerProfile


class ProfileCache:
    """Per-process LRU of profiles by customer id, each stored with the exact JSON text it was parsed from
    or saved as. A lookup hands back the cached profile only when the stored text is identical to the text
    the caller just read, so the cache cannot serve a stale profile: a write by another worker, a merge, a
    rolled-back save or a rebalance all change (or never changed) the stored text, and the profile is
    parsed again. Not thread-safe: one per applying thread."""

    def __init__(self, max_entries: int) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._max_entries = max_entries
        self._entries: OrderedDict[str, tuple[str, CustomerProfile]] = OrderedDict()

    def parse(self, customer_id: str, text: str) -> CustomerProfile:
        """The profile the stored JSON ``text`` holds; validated only when it differs from the cached text."""
        entry = self._entries.get(customer_id)
        if entry is not None and entry[0] == text:
            self._entries.move_to_end(customer_id)
            return entry[1]
        profile = CustomerProfile.model_validate_json(text)
        self.remember(profile, text)
        return profile

    def remember(self, profile: CustomerProfile, text: str) -> None:
        """Record ``text`` (``profile.model_dump_json()``, about to be stored) as the profile's JSON."""
        self._entries[profile.customer_id] = (text, profile)
        self._entries.move_to_end(profile.customer_id)
        if len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)
