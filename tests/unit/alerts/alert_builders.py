"""Builders for the alert tests: scored posts with chosen scores, streams on event time."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from alerts.contracts import ScoredPost
from ingest.contracts import SocialEvent

T0 = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
ESTABLISHED = T0 - timedelta(days=90)
_ids = itertools.count(1)

PostFactory = Callable[..., ScoredPost]


def make_post(
    *,
    at: datetime = T0,
    text: str | None = "just a post",
    label: str = "neutral",
    score: float = 0.0,
    confidence: float = 0.9,
    topics: tuple[str, ...] = (),
    intents: tuple[str, ...] = (),
    language: str = "en",
    influence: float = 0.0,
    lifecycle: str = "prospect",
    spam: float = 0.0,
    customer_id: str | None = None,
    author: dict[str, Any] | None = None,
    first_seen: datetime | None = ESTABLISHED,
    **event: Any,
) -> ScoredPost:
    """A ``ScoredPost`` with exactly these scores; ``event`` overrides SocialEvent fields. Its author was
    first seen at ``first_seen`` (by default months before ``T0``: an established account; ``None``: never
    seen before)."""
    n = next(_ids)
    author_fields = {"id": f"u{n}", "handle": f"user{n}", "followers": 50, "verified": False, **(author or {})}
    fields: dict[str, Any] = {
        "event_id": f"e{n}", "platform": "weibo", "kind": "post", "occurred_at": at,
        "received_at": at + timedelta(seconds=1), "author": author_fields, "brand": "acme", "text": text,
        "source": "unit-test", **event,
    }
    return ScoredPost(
        customer_id=customer_id or f"c-{author_fields['id']}", event=SocialEvent.model_validate(fields),
        sentiment_label=label, sentiment_score=score, sentiment_confidence=confidence, topics=topics,
        intents=intents, language=language, author_influence=influence, author_lifecycle=lifecycle, spam=spam,
        author_first_seen=first_seen,
    )


def negative(at: datetime, **kw: Any) -> ScoredPost:
    """A confident negative post."""
    return make_post(at=at, text=kw.pop("text", "this is bad, very disappointed"), label="negative", score=-0.8,
                     **kw)


def calm_stream(start: datetime, hours: int, *, per_hour: int = 30, negatives_per_hour: int = 3,
                evening_factor: float = 1.0) -> list[ScoredPost]:
    """Steady chatter with a few ordinary negative posts; hours 18-22 UTC carry ``evening_factor`` times
    the volume (a daily cycle)."""
    posts = []
    for h in range(hours):
        hour_start = start + timedelta(hours=h)
        factor = evening_factor if 18 <= hour_start.hour <= 22 else 1.0
        n, neg = int(per_hour * factor), int(negatives_per_hour * factor)
        for i in range(n):
            at = hour_start + timedelta(seconds=3600 * i / n)
            if neg and i % max(1, n // neg) == 0 and i // max(1, n // neg) < neg:  # spread over the hour
                posts.append(negative(at + timedelta(seconds=7), topics=("delivery_logistics",)))
            else:
                posts.append(make_post(at=at, text="using it every day", label="positive", score=0.4))
    return posts
