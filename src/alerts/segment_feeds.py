"""Segment feeds: the entries and exits of chosen segments, delivered in order to a signed webhook by the
dispatcher (``SegmentFeed`` in the routing file).

The changes are read as data, straight from the ``segment_changes`` table the apply lane, the identity
lane and the sweep write (``alerts`` does not import ``profile_store``: the columns below are the
contract). Each feed keeps the id of the last change it delivered (``alert_segment_feeds``). A pass claims
a due feed with a lease (so several dispatchers never send one batch twice at once), reads the next
``batch_size`` matching changes, posts them (network, outside any transaction), and only then moves the
feed past them. A refused batch is retried with the routing's backoff, without end and without skipping:
a receiver that mirrors membership must never miss a change. Delivery is at-least-once (a dispatcher
killed after the post re-sends after the lease); receivers deduplicate by ``change_id`` or by the
``Idempotency-Key`` (``segments:<feed>:<first id>-<last id>``). The changes of a customer who withdrew
marketing consent are never sent (read from their profile, like the segment changes, as data).
Keyword-only ``session``; never commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy import JSON, ColumnElement, Integer, String, and_, column, exists, func, select, table, update
from sqlalchemy.orm import Session

from alerts.routing import SegmentFeed
from alerts.tables import SegmentFeedRow
from sqlkit import as_aware, json_value, upsert_rows


class FeedChange(BaseModel):
    """One entry or exit as a feed delivers it (the columns of ``segment_changes``)."""

    model_config = ConfigDict(frozen=True)

    change_id: int
    segment: str
    customer_id: str
    change: Literal["enter", "leave"]
    at: datetime
    cause: str | None


class FeedBatch(BaseModel):
    """The body of one feed request."""

    model_config = ConfigDict(frozen=True)

    type: Literal["segment.changes"] = "segment.changes"
    feed: str
    changes: tuple[FeedChange, ...]

    @property
    def idempotency_key(self) -> str:
        return f"segments:{self.feed}:{self.changes[0].change_id}-{self.changes[-1].change_id}"


class ClaimedFeed(BaseModel):
    """A feed this dispatcher holds the lease on, with the changes it is to send."""

    model_config = ConfigDict(frozen=True)

    feed: SegmentFeed
    delivered_through: int
    attempts: int
    batch: FeedBatch | None


_CHANGES = table("segment_changes", column("change_id", Integer), column("segment", String),
                 column("customer_id", String), column("change", String), column("at", String), column("cause", String))
_PROFILES = table("profiles", column("customer_id", String), column("data", JSON))
_REDIRECTS = table("customer_redirects", column("customer_id", String), column("survivor_id", String))


def _matching(feed: SegmentFeed, after: int, dialect: str) -> ColumnElement[bool]:
    """The changes after ``after`` that ``feed`` takes: of its segments and kinds, and not of a customer
    whose profile (a merged-away id's: its survivor's) says they withdrew marketing consent (a feed is an
    outbound channel; docs/consent.md)."""
    withdrawn = json_value(_PROFILES.c.data, ("consent", "marketing"), "boolean", dialect=dialect).is_(False)
    survivor = (select(_REDIRECTS.c.survivor_id).where(_REDIRECTS.c.customer_id == _CHANGES.c.customer_id)
                .correlate(_CHANGES).scalar_subquery())
    current = func.coalesce(survivor, _CHANGES.c.customer_id)
    conditions = [_CHANGES.c.change_id > after, _CHANGES.c.change.in_(feed.changes),
                  ~exists().where(_PROFILES.c.customer_id == current, withdrawn)]
    if feed.segments:
        conditions.append(_CHANGES.c.segment.in_(feed.segments))
    return and_(*conditions)


def _changes_after(feed: SegmentFeed, after: int, *, session: Session) -> tuple[FeedChange, ...]:
    query = (select(_CHANGES).where(_matching(feed, after, session.get_bind().dialect.name))
             .order_by(_CHANGES.c.change_id).limit(feed.batch_size))
    rows = session.execute(query)
    return tuple(FeedChange(change_id=r.change_id, segment=r.segment, customer_id=r.customer_id, change=r.change,
                            at=as_aware(r.at) if isinstance(r.at, datetime) else as_aware(datetime.fromisoformat(r.at)),
                            cause=r.cause)
                 for r in rows)


def ensure_feeds(feeds: Sequence[SegmentFeed], *, now: datetime, session: Session) -> None:
    """Give every configured feed its row (once): a ``beginning`` feed starts before the first change, a
    ``now`` feed after the newest recorded one. Idempotent."""
    if not feeds:
        return
    newest = int(session.execute(select(func.max(_CHANGES.c.change_id))).scalar() or 0)
    upsert_rows(session, SegmentFeedRow.__table__, [  # type: ignore[arg-type]
        {"feed": f.name, "delivered_through": newest if f.start == "now" else 0, "delivered": 0, "attempts": 0,
         "next_attempt_at": now, "last_error": None} for f in feeds], ["feed"], update=False)


def claim_feeds(feeds: Sequence[SegmentFeed], *, now: datetime, lease: timedelta,
                session: Session) -> list[ClaimedFeed]:
    """The due feeds (rows another dispatcher holds are skipped), each with its next batch (``None``:
    nothing new); their next attempt moves to ``now + lease`` so no one else takes them meanwhile."""
    by_name = {f.name: f for f in feeds}
    if not by_name:
        return []
    rows = session.scalars(select(SegmentFeedRow).where(SegmentFeedRow.feed.in_(sorted(by_name)),
                                                        SegmentFeedRow.next_attempt_at <= now)
                           .order_by(SegmentFeedRow.feed).with_for_update(skip_locked=True))
    claimed = []
    for row in rows:
        feed = by_name[row.feed]
        changes = _changes_after(feed, row.delivered_through, session=session)
        if changes:
            row.next_attempt_at = now + lease
        claimed.append(ClaimedFeed(feed=feed, delivered_through=row.delivered_through, attempts=row.attempts,
                                   batch=FeedBatch(feed=feed.name, changes=changes) if changes else None))
    return claimed


def mark_feed_delivered(claimed: ClaimedFeed, *, now: datetime, session: Session) -> None:
    """The receiver accepted the batch: the feed moves past it (only from where the claim found it)."""
    assert claimed.batch is not None
    session.execute(update(SegmentFeedRow).where(SegmentFeedRow.feed == claimed.feed.name,
                                                 SegmentFeedRow.delivered_through == claimed.delivered_through)
                    .values(delivered_through=claimed.batch.changes[-1].change_id, attempts=0, last_error=None,
                            next_attempt_at=now, delivered=SegmentFeedRow.delivered + len(claimed.batch.changes)))


def mark_feed_failed(claimed: ClaimedFeed, *, error: str, retry_at: datetime, session: Session) -> None:
    """The receiver refused or was away: the same batch again at ``retry_at``."""
    session.execute(update(SegmentFeedRow).where(SegmentFeedRow.feed == claimed.feed.name).values(
        attempts=claimed.attempts + 1, last_error=error[:2000], next_attempt_at=retry_at))


class FeedStatus(BaseModel):
    """Where a feed stands: what it delivered, how many matching changes wait, its last error."""

    model_config = ConfigDict(frozen=True)

    feed: str
    delivered: int
    delivered_through: int
    waiting: int
    attempts: int
    last_error: str | None


def feed_status(feeds: Sequence[SegmentFeed], *, session: Session) -> list[FeedStatus]:
    """Every configured feed that has a row, by name."""
    rows = {r.feed: r for r in session.scalars(select(SegmentFeedRow).order_by(SegmentFeedRow.feed))}
    out = []
    for feed in sorted(feeds, key=lambda f: f.name):
        row = rows.get(feed.name)
        if row is None:
            continue
        query = select(func.count()).select_from(_CHANGES).where(
            _matching(feed, row.delivered_through, session.get_bind().dialect.name))
        waiting = int(session.execute(query).scalar() or 0)
        out.append(FeedStatus(feed=feed.name, delivered=row.delivered, delivered_through=row.delivered_through,
                              waiting=waiting, attempts=row.attempts, last_error=row.last_error))
    return out

