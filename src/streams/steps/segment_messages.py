"""Segment entries and exits as messages on ``scrm.segments.changes`` (key: the customer id), the one shape
the apply lane, the identity lane and the segment sweep publish."""

from __future__ import annotations

from collections.abc import Iterable

from profile_store.segments.membership import SegmentChange
from streams.topics import SEGMENT_CHANGES
from streams.transports import Outgoing


def segment_change_messages(changes: Iterable[SegmentChange]) -> list[Outgoing]:
    """One message per change, in the order given (per customer, the order they were made)."""
    return [Outgoing(SEGMENT_CHANGES, c.customer_id.encode(), c.model_dump_json().encode()) for c in changes]
