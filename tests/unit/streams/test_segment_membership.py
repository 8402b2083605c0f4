"""Live segment membership in the apply lane: a customer enters and leaves as the event that causes it is
applied (no cron), each change names its cause, and a replayed batch re-publishes the changes its events
caused without changing membership twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from profile_store.contracts import LinkSignal
from profile_store.segments import parse_text
from profile_store.segments.membership import segment_counts, segment_history
from profile_store.segments.store import create_segment, list_segments, members_page
from streams.identity_service import apply_link_signals
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


def test_a_merged_away_customer_leaves_its_segments_and_an_unmerge_brings_both_parts_back(
        storage, event_factory, enrich):
    """Merges happen in the identity lane, not the apply lane: the absorbed customer's profile is deleted, so
    it leaves every segment; the survivor is re-decided on its merged profile; the split restores both."""
    with storage.session_factory.begin() as session:
        create_segment("single-event", parse_text("event_count < 2"), by="mia", at=BASE_TIME, session=session)
        create_segment("douyin-people", parse_text("platforms contains douyin"), by="mia", at=BASE_TIME,
                       session=session)
    phone = "13900001111"
    first = enrich(event_factory(author={"id": "merge-wb"}, event_id="m-1", identity_hints={"phone": phone},
                                 at=BASE_TIME))
    second = enrich(event_factory(platform="douyin", author={"id": "merge-dy"}, event_id="m-2",
                                  identity_hints={"phone": phone}, at=BASE_TIME + timedelta(hours=1)))
    apply_enriched_batch(first, session_factory=storage.session_factory, analytics=None)
    signals = apply_enriched_batch(second, session_factory=storage.session_factory, analytics=None).identity_signals
    survivor, absorbed = first[0].customer_id, second[0].customer_id
    assert survivor != absorbed

    def members(name: str) -> set[str]:
        with storage.session_factory() as session:
            return {m.customer_id for m in members_page(name, session=session)}

    assert members("single-event") == {survivor, absorbed} and members("douyin-people") == {absorbed}

    merged = apply_link_signals(signals, session_factory=storage.session_factory)
    (link,) = [s.link for s in signals if s.link is not None and "douyin:merge-dy" in (s.link.a, s.link.b)]
    assert sorted((c.segment, c.customer_id, c.change, c.cause) for c in merged.segment_changes) == sorted([
        ("single-event", survivor, "leave", f"link:{link.link_id}"),
        ("single-event", absorbed, "leave", f"link:{link.link_id}"),
        ("douyin-people", absorbed, "leave", f"link:{link.link_id}"),
        ("douyin-people", survivor, "enter", f"link:{link.link_id}"),
    ])
    assert members("single-event") == set() and members("douyin-people") == {survivor}
    replayed = apply_link_signals(signals, session_factory=storage.session_factory)
    assert replayed.segment_changes == merged.segment_changes, "a replay re-publishes, and changes nothing"
    assert members("douyin-people") == {survivor}

    unlink = LinkSignal(op="unlink", link_id=link.link_id, requested_by="reviewer", at=BASE_TIME + timedelta(hours=2))
    split = apply_link_signals([unlink], session_factory=storage.session_factory)
    assert {(c.segment, c.customer_id, c.change) for c in split.segment_changes} == {
        ("single-event", survivor, "enter"), ("single-event", absorbed, "enter"),
        ("douyin-people", survivor, "leave"), ("douyin-people", absorbed, "enter")}
    assert {c.cause for c in split.segment_changes} == {f"unlink:{link.link_id}"}
    assert members("single-event") == {survivor, absorbed} and members("douyin-people") == {absorbed}
    with storage.session_factory() as session:
        counts = {s.name: s.members for s in list_segments(session=session)}
    assert counts == {"douyin-people": 1, "single-event": 2}, "the stored counts follow every change"


def test_the_count_over_time_follows_entries_and_exits_in_event_time(storage, event_factory, enrich):
    with storage.session_factory.begin() as session:
        create_segment("newcomers", parse_text("event_count < 2"), by="mia", at=BASE_TIME, session=session)
    for n, author in enumerate(["a", "b", "c", "a", "b"]):  # a and b leave with their second event
        apply_enriched_batch(enrich(event_factory(author={"id": f"cnt-{author}"}, event_id=f"cnt-{n}",
                                                  at=BASE_TIME + timedelta(days=n))),
                             session_factory=storage.session_factory, analytics=None)
    with storage.session_factory() as session:
        daily = segment_counts("newcomers", points=5, session=session)
        coarse = segment_counts("newcomers", points=2, session=session)
        assert segment_counts("nothing-here", session=session) == []
    assert [(p.at, p.members, p.entered, p.left) for p in daily] == [
        (BASE_TIME + timedelta(days=d), members, entered, left)
        for d, members, entered, left in [(0, 1, 1, 0), (1, 2, 1, 0), (2, 3, 1, 0), (3, 2, 0, 1), (4, 1, 0, 1)]]
    assert [(p.members, p.entered, p.left) for p in coarse] == [(2, 3, 1), (1, 0, 1)], \
        "days 0-3, then day 4: the members at each stretch's end, with who moved in it"
