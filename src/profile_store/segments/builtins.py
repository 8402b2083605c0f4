"""The segments every installation starts with, in the text form (docs/segments.md). Each is an ordinary
saved segment (created by ``builtin``), live like any other, and can be deleted or replaced."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from profile_store.segments.store import Segment, create_segment, get_segment
from profile_store.segments.text import parse_text

BUILTINS: tuple[tuple[str, str], ...] = (
    ("fans", "lifecycle = fan"),
    ("advocates", "lifecycle = advocate"),
    ("detractors", "lifecycle = detractor"),
    ("influencers", "influence >= 60"),
    ("at_risk", "churn_risk >= 0.6 and lifecycle not in (detractor)"),
    ("ready_to_buy", "events(intent=purchase_intent, within_days=7) >= 1 and lifecycle = prospect"),
    ("lapsed", "event_count >= 3 and not last_seen within_days 30"),
)
"""``(name, rule)``: ``ready_to_buy`` is purchase intent in the last 7 days from someone not yet a customer;
``lapsed`` is someone who was active (3 or more events) and has not been seen for 30 days."""


def install_builtins(*, at: datetime, session: Session) -> list[Segment]:
    """Create each built-in segment whose name is free; the ones created. Idempotent. Blocks."""
    return [create_segment(name, parse_text(rule), by="builtin", at=at, session=session)
            for name, rule in BUILTINS if get_segment(name, session=session) is None]
