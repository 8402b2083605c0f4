"""Live segment membership in the apply lane: a customer enters and leaves as the event that causes it is
applied (no cron), each change names its cause, and a replayed batch re-publishes the changes its events
caused without changing membership twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from profile_store.segments import parse_text
from profile_store.segments.membership import segment_history
from profile_store.segments.store import create_segment, members_page
from streams.unit_of_work import apply_enriched_batch

BASE_TIME = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def test_a_customer_enters_and_leaves_with_the_events_that_cause_it(storage, event_factory, enrich):
    with storage.session_factory.begin() as session:
        create_segment("newcomers", parse_text("event_count < 3"), by="mia", at=BASE_TIME, session=session)
        create_segment("weibo-regulars", parse_text("events(platform=weibo, within_days=7) >= 2"), by="mia",
                       at=BASE_TIME, session=session)
    first, second, third = (event_factory(author={"id": "seg-1"}, event_id=f"seg-{n}",
                                          at=BASE_TIME + timedelta(hours=n)) for n in range(3))

    def apply(*payloads):
        return apply_enriched_batch(enrich(*payloads), session_factory=storage.session_factory, analytics=None)

    one = apply(first)
    assert [(c.segment, c.change, c.cause) for c in one.segment_changes] == [("newcomers", "enter", "weibo:seg-1/seg-0")]
    customer = one.segment_changes[0].customer_id
    assert one.segment_changes[0].at == BASE_TIME, "event time, not the wall clock"

    two = apply(second)
    assert [(c.segment, c.change) for c in two.segment_changes] == [("weibo-regulars", "enter")]
    again = apply(second)
    assert again.segment_changes == two.segment_changes, "a replay re-publishes what its events caused"

    three = apply(third)
    assert [(c.segment, c.change, c.cause) for c in three.segment_changes] == [
        ("newcomers", "leave", "weibo:seg-1/seg-2")]
    with storage.session_factory() as session:
        assert [m.customer_id for m in members_page("weibo-regulars", session=session)] == [customer]
        assert members_page("newcomers", session=session) == []
        history = [(c.change, c.cause) for c in segment_history("newcomers", session=session)]
    assert history == [("enter", "weibo:seg-1/seg-0"), ("leave", "weibo:seg-1/seg-2")]


def test_without_segments_a_batch_changes_no_membership(storage, event_factory, enrich):
    outcome = apply_enriched_batch(enrich(event_factory(author={"id": "seg-none"})),
                                   session_factory=storage.session_factory, analytics=None)
    assert outcome.applied and outcome.segment_changes == ()
