"""Segment feeds: the dispatcher delivers the entries and exits of the segments a feed names to its webhook,
in order and in batches, moves on only when the receiver accepted a batch (a refused one is retried, the
same batch, never skipped), starts from the beginning or from now, and says where each feed stands. Real
SQLite, real apply lane; the webhook is a recording sender (the signed HTTP path is tested on a real
receiver in tests/integration/test_alert_channels.py)."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from alerts.dispatch import Dispatcher
from alerts.exceptions import DeliveryFailed
from alerts.routing import RetryPolicy, RoutingConfig, SegmentFeed, SlackChannel, WebhookChannel
from alerts.segment_feeds import feed_status
from profile_store.segments import parse_text
from profile_store.segments.store import create_segment
from streams.unit_of_work import apply_enriched_batch

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
HOOK = WebhookChannel(url="http://127.0.0.1:9/crm", secret="s")


class Receiver:
    """Records accepted bodies; refuses while ``down``."""

    def __init__(self) -> None:
        self.down = False
        self.bodies: list[dict] = []
        self.keys: list[str] = []

    def __call__(self, channel, body: bytes, idempotency_key: str, now) -> None:
        if self.down:
            raise DeliveryFailed("HTTP 503 from test")
        self.bodies.append(json.loads(body))
        self.keys.append(idempotency_key)

    def changes(self) -> list[tuple[str, str, str]]:
        return [(c["segment"], c["customer_id"], c["change"]) for b in self.bodies for c in b["changes"]]


def _routing(*feeds: SegmentFeed) -> RoutingConfig:
    return RoutingConfig(channels={"crm": HOOK}, segment_feeds=feeds,
                         retry=RetryPolicy(base_seconds=10, max_seconds=10, jitter=0.0))


def _dispatcher(storage, routing, receiver, clock):
    def never(channel, delivery, now):
        raise AssertionError("no incident in these tests")

    return Dispatcher(storage.session_factory, routing, clock=clock, sender=never, feed_sender=receiver,
                      rng=random.Random(1), workers=2)


def _post(storage, enrich, event_factory, author: str, n: int, **extra) -> str:
    (event,) = enrich(event_factory(author={"id": author}, event_id=f"{author}-{n}", at=T0 + timedelta(hours=n),
                                    **extra))
    apply_enriched_batch([event], session_factory=storage.session_factory, analytics=None)
    return event.customer_id


def test_a_feed_delivers_its_segments_changes_in_order_and_only_those(storage, enrich, event_factory):
    with storage.session_factory.begin() as session:
        create_segment("newcomers", parse_text("event_count < 2"), by="mia", at=T0, session=session)
        create_segment("douyin", parse_text("platforms contains douyin"), by="mia", at=T0, session=session)
    receiver = Receiver()
    now = [T0]
    dispatcher = _dispatcher(storage, _routing(SegmentFeed(name="crm-newcomers", channel="crm",
                                                           segments=("newcomers",), batch_size=2)),
                             receiver, lambda: now[0])
    try:
        ann = _post(storage, enrich, event_factory, "ann", 0)
        bob = _post(storage, enrich, event_factory, "bob", 1)
        _post(storage, enrich, event_factory, "ann", 2)
        _post(storage, enrich, event_factory, "cy", 3, platform="douyin")
        assert dispatcher.run_once().segment_changes == 2, "batch_size 2"
        assert dispatcher.run_once().segment_changes == 2
        assert dispatcher.run_once().segment_changes == 0, "nothing left"
    finally:
        dispatcher.close()
    cy = receiver.bodies[-1]["changes"][-1]["customer_id"]
    assert receiver.changes() == [("newcomers", ann, "enter"), ("newcomers", bob, "enter"),
                                  ("newcomers", ann, "leave"), ("newcomers", cy, "enter")], \
        "the douyin segment's changes are not this feed's"
    ids = [c["change_id"] for b in receiver.bodies for c in b["changes"]]
    assert ids == sorted(ids) and len(set(ids)) == 4
    first = receiver.bodies[0]
    assert first["type"] == "segment.changes" and first["feed"] == "crm-newcomers"
    assert first["changes"][0]["cause"] == "weibo:ann/ann-0", "each change names the event that caused it"
    assert receiver.keys[0] == f"segments:crm-newcomers:{ids[0]}-{ids[1]}"


def test_a_refused_batch_is_sent_again_after_the_backoff_and_nothing_is_skipped(storage, enrich, event_factory):
    with storage.session_factory.begin() as session:
        create_segment("everyone", parse_text("event_count >= 1"), by="mia", at=T0, session=session)
    receiver = Receiver()
    now = [T0]
    routing = _routing(SegmentFeed(name="crm-all", channel="crm"))
    dispatcher = _dispatcher(storage, routing, receiver, lambda: now[0])
    try:
        ann = _post(storage, enrich, event_factory, "ann", 0)
        receiver.down = True
        assert dispatcher.run_once().segment_changes == 0
        bob = _post(storage, enrich, event_factory, "bob", 1)
        receiver.down = False
        assert dispatcher.run_once().segment_changes == 0, "not due before the backoff has passed"
        with storage.session_factory() as session:
            (status,) = feed_status(routing.segment_feeds, session=session)
        assert (status.attempts, status.waiting, status.delivered) == (1, 2, 0)
        assert status.last_error == "HTTP 503 from test"
        now[0] = T0 + timedelta(seconds=11)
        assert dispatcher.run_once().segment_changes == 2
    finally:
        dispatcher.close()
    assert receiver.changes() == [("everyone", ann, "enter"), ("everyone", bob, "enter")]
    with storage.session_factory() as session:
        (status,) = feed_status(routing.segment_feeds, session=session)
    assert (status.attempts, status.waiting, status.delivered, status.last_error) == (0, 0, 2, None)


def test_a_feed_starting_now_skips_the_history_a_feed_from_the_beginning_replays_it(storage, enrich, event_factory):
    with storage.session_factory.begin() as session:
        create_segment("everyone", parse_text("event_count >= 1"), by="mia", at=T0, session=session)
    ann = _post(storage, enrich, event_factory, "ann", 0)
    receiver = Receiver()
    routing = _routing(SegmentFeed(name="from-start", channel="crm"),
                       SegmentFeed(name="from-now", channel="crm", start="now"))
    dispatcher = _dispatcher(storage, routing, receiver, lambda: T0)
    try:
        dispatcher.run_once()
        bob = _post(storage, enrich, event_factory, "bob", 1)
        dispatcher.run_once()
    finally:
        dispatcher.close()
    by_feed = {}
    for body in receiver.bodies:
        by_feed.setdefault(body["feed"], []).extend(c["customer_id"] for c in body["changes"])
    assert by_feed == {"from-start": [ann, bob], "from-now": [bob]}


def test_a_feed_must_go_to_a_webhook_channel():
    with pytest.raises(ValidationError, match="not a webhook channel"):
        RoutingConfig(channels={"chat": SlackChannel(url="http://127.0.0.1:9/x")},
                      segment_feeds=(SegmentFeed(name="f", channel="chat"),))
    with pytest.raises(ValidationError, match="not a webhook channel"):
        RoutingConfig(segment_feeds=(SegmentFeed(name="f", channel="missing"),))
