"""Reading what ``next_actions`` ranks: the customers who posted about a brand in a window of event time,
with those posts. Repository functions take a keyword-only ``session`` and never commit.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Text, cast, func, select
from sqlalchemy.orm import Session

from profile_store.consents import with_consent
from profile_store.identity_repository import customers_of
from profile_store.next_actions import SPAM_LIMIT, Candidate, EvidencePost, NextActions, rank_next_actions
from profile_store.repository import load_profiles
from profile_store.tables import ProfileEventRow
from sqlkit import as_aware, json_value

TEXT_CHARS = 280


def next_actions(brand: str, *, days: int = 7, as_of: datetime | None = None, limit: int = 20,
                 session: Session) -> NextActions:
    """The ranked list for ``brand`` (``next_actions.rank_next_actions``) over the ``days`` before ``as_of``
    (default: the newest stored event's time, so "today" is event time, never the wall clock). Blocks;
    reads the window's events of the brand once."""
    newest = as_of or _newest_event(session)
    if newest is None:
        return NextActions(brand=brand, as_of=None, days=days, actions=())
    since = newest - timedelta(days=days)
    events = ProfileEventRow.__table__
    brand_of = json_value(events.c.data, ("event", "brand"), "string", dialect=session.get_bind().dialect.name)
    query = (select(ProfileEventRow.identity_key, cast(ProfileEventRow.data, Text))
             .where(ProfileEventRow.occurred_at >= since, ProfileEventRow.occurred_at <= newest, brand_of == brand)
             .order_by(ProfileEventRow.occurred_at.desc(), ProfileEventRow.event_key))
    posts: dict[str, list[EvidencePost]] = {}
    for identity_key, text in session.execute(query):
        post = _post(json.loads(text))
        if post is not None:
            posts.setdefault(identity_key, []).append(post)
    owners = customers_of(posts, session=session)
    by_customer: dict[str, list[EvidencePost]] = {}
    for identity_key, found in posts.items():
        if identity_key in owners:
            by_customer.setdefault(owners[identity_key], []).extend(found)
    profiles = {p.customer_id: p for p in with_consent(list(load_profiles(by_customer, session=session).values()),
                                                        session=session)}  # consent as the store says it now
    candidates = [Candidate(profiles[c], tuple(sorted(found, key=lambda p: (p.occurred_at, p.event_id), reverse=True)))
                  for c, found in sorted(by_customer.items()) if c in profiles]
    return rank_next_actions(candidates, brand=brand, as_of=newest, days=days, limit=limit)


def _newest_event(session: Session) -> datetime | None:
    newest = session.scalar(select(func.max(ProfileEventRow.occurred_at)))
    return as_aware(newest) if newest is not None else None


def _post(data: dict[str, Any]) -> EvidencePost | None:
    """The evidence form of a stored enriched event; ``None`` for spam and for events without text."""
    event, enrichment = data.get("event", {}), data.get("enrichment", {})
    text = event.get("text")
    if not isinstance(text, str) or not text.strip() or float(enrichment.get("spam", 0.0)) >= SPAM_LIMIT:
        return None
    label = enrichment.get("sentiment", {}).get("label")
    return EvidencePost(event_id=event["event_id"], platform=event["platform"], occurred_at=event["occurred_at"],
                        text=text[:TEXT_CHARS], url=event.get("url"),
                        sentiment=label if label in ("negative", "neutral", "positive") else None,
                        intents=tuple(enrichment.get("intents", ())))
