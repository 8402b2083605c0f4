"""``apply_enriched_batch`` against a real SQLite file: profiles created once, replays change nothing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from alerts.repository import list_alerts
from enrichment.lexicon import LexiconEnricher
from ingest.codec import event_from_dict
from profile_store.contracts import LinkSignal
from profile_store.profile_cache import ProfileCache
from profile_store.repository import find_profile_by_identity, get_profile
from streams.contracts import EnrichedEvent
from streams.identity_service import apply_link_signals
from streams.steps.enrich import enrich_events
from streams.steps.identity import resolve_customer
from streams.storage import Storage, open_storage
from streams.unit_of_work import apply_enriched_batch

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
NEGATIVE_TEXT = "terrible quality, broken after a day, I want a refund. worst purchase"


@pytest.fixture
def storage(sqlite_url: str) -> Iterator[Storage]:
    opened = open_storage(sqlite_url, None)
    yield opened
    opened.close()


@pytest.fixture
def enrich(event_factory):
    """``enrich(*event_dicts)`` -> enriched events, resolved and scored as the pipeline does."""
    enricher = LexiconEnricher()

    def run(*payloads: dict) -> list[EnrichedEvent]:
        events = [event_from_dict(p) for p in payloads]
        return enrich_events([(e, resolve_customer(e, {})) for e in events], enricher)

    return run


def _apply(storage: Storage, events: list[EnrichedEvent]):
    return apply_enriched_batch(events, session_factory=storage.session_factory, analytics=None)


def _profile_json(storage: Storage, customer_id: str) -> str | None:
    with storage.session_factory() as session:
        profile = get_profile(customer_id, session=session)
    return profile.model_dump_json() if profile else None


@pytest.fixture
def batch(event_factory, enrich) -> list[EnrichedEvent]:
    return enrich(
        event_factory(author={"id": "alice"}, text="love it, great service", at=T0),
        event_factory(author={"id": "alice"}, kind="like", text=None, at=T0 + timedelta(minutes=5)),
        event_factory(
            author={"id": "bob", "display_name": "Bob", "followers": 20_000}, text=NEGATIVE_TEXT,
            at=T0 + timedelta(minutes=10),
        ),
    )


def test_applying_a_batch_creates_a_profile_per_customer(storage, batch):
    alice, bob = batch[0].customer_id, batch[2].customer_id

    outcome = _apply(storage, batch)

    assert [e.event_id for e in outcome.applied] == [e.event_id for e in batch]
    assert {p.customer_id for p in outcome.profiles} == {alice, bob}
    with storage.session_factory() as session:
        alice_profile = get_profile(alice, session=session)
        bob_profile = get_profile(bob, session=session)
    assert alice_profile is not None and bob_profile is not None
    assert alice_profile.event_count == 2
    assert alice_profile.counts_by_kind == {"post": 1, "like": 1}
    assert alice_profile.sentiment.positive == 1
    assert bob_profile.event_count == 1
    assert bob_profile.display_name == "Bob"
    assert bob_profile.sentiment.negative == 1


def test_applying_a_batch_stores_the_alerts_it_raises(storage, batch):
    outcome = _apply(storage, batch)

    assert [a.event_id for a in outcome.alerts] == [batch[2].event_id]
    with storage.session_factory() as session:
        stored = list_alerts(session=session)
    assert [a.alert_id for a in stored] == [outcome.alerts[0].alert_id]
    assert stored[0].customer_id == batch[2].customer_id


def test_replaying_a_batch_changes_no_profile_but_returns_its_alerts_again(storage, batch):
    first = _apply(storage, batch)
    before = {e.customer_id: _profile_json(storage, e.customer_id) for e in batch}

    replay = _apply(storage, batch)

    assert replay.applied == ()
    assert replay.profiles == ()
    assert {cid: _profile_json(storage, cid) for cid in before} == before
    assert [a.alert_id for a in replay.alerts] == [a.alert_id for a in first.alerts]
    assert replay.alerts == first.alerts
    with storage.session_factory() as session:
        assert len(list_alerts(session=session)) == 1


def test_replay_inside_a_larger_batch_applies_only_the_new_events(storage, batch, event_factory, enrich):
    _apply(storage, batch)
    (newcomer,) = enrich(event_factory(author={"id": "alice"}, text="nice", at=T0 + timedelta(hours=1)))

    outcome = _apply(storage, [*batch, newcomer])

    assert [e.event_id for e in outcome.applied] == [newcomer.event_id]
    assert _profile_json(storage, batch[2].customer_id) is not None
    with storage.session_factory() as session:
        alice = get_profile(newcomer.customer_id, session=session)
    assert alice is not None and alice.event_count == 3


def test_the_same_event_twice_in_one_batch_counts_once(storage, event_factory, enrich):
    payload = event_factory(author={"id": "carol"}, text="love it", at=T0)
    (once,) = enrich(payload)

    outcome = _apply(storage, [once, once])

    assert len(outcome.applied) == 1
    with storage.session_factory() as session:
        profile = get_profile(once.customer_id, session=session)
    assert profile is not None
    assert profile.event_count == 1
    assert profile.sentiment.positive == 1
    assert len(profile.timeline) == 1


def test_same_event_id_on_two_platforms_is_two_events(storage, event_factory, enrich):
    events = enrich(
        event_factory(event_id="shared-1", platform="weibo", author={"id": "dan"}, at=T0),
        event_factory(event_id="shared-1", platform="douyin", author={"id": "dan"}, at=T0),
    )

    outcome = _apply(storage, events)

    assert len(outcome.applied) == 2


def test_a_late_event_in_a_later_batch_gives_the_profile_of_in_order_delivery(
    tmp_path, event_factory, enrich
):
    older, newer = enrich(
        event_factory(author={"id": "erin"}, text="terrible, broken, refund", at=T0),
        event_factory(author={"id": "erin"}, text="love it, great", at=T0 + timedelta(days=2)),
    )
    in_order = open_storage(f"sqlite:///{tmp_path}/in_order.db", None)
    late = open_storage(f"sqlite:///{tmp_path}/late.db", None)
    try:
        _apply(in_order, [older, newer])
        _apply(late, [newer])
        _apply(late, [older])

        assert _profile_json(late, older.customer_id) == _profile_json(in_order, older.customer_id)
    finally:
        in_order.close()
        late.close()


def test_a_batch_with_no_events_changes_nothing(storage):
    outcome = _apply(storage, [])
    assert (outcome.applied, outcome.profiles, outcome.alerts) == ((), (), ())


def test_hint_links_are_published_until_the_identity_service_applied_them_and_again_after_an_unlink(
    storage, event_factory, enrich
):
    def order(n: int) -> list[EnrichedEvent]:
        return enrich(event_factory(author={"id": "frank"}, text="order placed", identity_hints={"email": "f@x.cn"},
                                    at=T0 + timedelta(hours=n)))

    first = _apply(storage, order(0)).identity_signals
    assert [(s.op, {s.link.a, s.link.b} if s.link else None) for s in first] == [("link", {"weibo:frank", "email:f@x.cn"})]
    assert [s.link.link_id for s in _apply(storage, order(1)).identity_signals if s.link] == [first[0].link.link_id], \
        "not applied yet: stated again"

    apply_link_signals(first, session_factory=storage.session_factory)
    assert _apply(storage, order(2)).identity_signals == (), "an active link is not re-published"

    unlink = LinkSignal(op="unlink", link_id=first[0].link.link_id, requested_by="reviewer", at=T0 + timedelta(hours=3))
    apply_link_signals([unlink], session_factory=storage.session_factory)
    again = _apply(storage, order(4)).identity_signals
    assert [s.link.link_id for s in again if s.link] == [first[0].link.link_id], "the connector states it again"


def test_a_profile_cache_gives_the_profiles_of_an_applier_without_one_even_when_others_write_between(
    tmp_path, event_factory, enrich
):
    """The cache must never serve a profile another writer has changed since: here a second applier (no
    cache) folds an event for the same customer and a merge rebuilds her profile between the cached
    applier's batches. Both databases see the same events; every stored profile must end up identical."""
    first, second, third, fourth = enrich(
        event_factory(author={"id": "gina"}, text="love it", identity_hints={"email": "g@x.cn"}, at=T0),
        event_factory(author={"id": "gina"}, text="terrible, broken, refund", at=T0 + timedelta(hours=1)),
        event_factory(platform="douyin", author={"id": "gina-dy"}, text="great service",
                      identity_hints={"email": "g@x.cn"}, at=T0 + timedelta(hours=2)),
        event_factory(author={"id": "gina"}, kind="like", text=None, at=T0 + timedelta(hours=3)),
    )
    cached = open_storage(f"sqlite:///{tmp_path}/cached.db", None)
    plain = open_storage(f"sqlite:///{tmp_path}/plain.db", None)
    cache = ProfileCache(max_entries=10)
    try:
        for store, profile_cache in ((cached, cache), (plain, None)):
            links = apply_enriched_batch([first], session_factory=store.session_factory, analytics=None,
                                         profile_cache=profile_cache).identity_signals
            _apply(store, [second])  # another applier, without this cache
            links += _apply(store, [third]).identity_signals
            apply_link_signals(links, session_factory=store.session_factory)  # merges gina's two accounts
            apply_enriched_batch([fourth], session_factory=store.session_factory, analytics=None,
                                 profile_cache=profile_cache)

        with cached.session_factory() as session:
            profile = find_profile_by_identity("weibo:gina", session=session)
        assert profile is not None and profile.event_count == 4, "every event folded once, across the merge"
        for customer_id in {e.customer_id for e in (first, third)} | {profile.customer_id}:
            assert _profile_json(cached, customer_id) == _profile_json(plain, customer_id)
    finally:
        cached.close()
        plain.close()
