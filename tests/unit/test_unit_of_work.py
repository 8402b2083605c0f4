"""``apply_enriched_batch`` against a real SQLite file: profiles created once, replays change nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ingest.contracts import IdentityHints
from profile_store.contracts import LinkSignal, Provenance
from profile_store.identity_graph import link_id_for, make_link
from profile_store.identity_repository import active_link_ids
from profile_store.profile_cache import ProfileCache
from profile_store.repository import find_profile_by_identity, get_profile
from streams.contracts import EnrichedEvent
from streams.identity_service import apply_link_signals
from streams.storage import Storage, open_storage
from streams.unit_of_work import apply_enriched_batch

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
NEGATIVE_TEXT = "terrible quality, broken after a day, I want a refund. worst purchase"


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


def test_replaying_a_batch_changes_no_profile(storage, batch):
    _apply(storage, batch)
    before = {e.customer_id: _profile_json(storage, e.customer_id) for e in batch}

    replay = _apply(storage, batch)

    assert replay.applied == ()
    assert replay.profiles == ()
    assert {cid: _profile_json(storage, cid) for cid in before} == before


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
    assert (outcome.applied, outcome.profiles, outcome.assignments) == ((), (), {})


def test_a_never_seen_linking_key_joins_its_account_in_the_applying_transaction_as_a_link_would(
    tmp_path, event_factory, enrich
):
    """Attached by the applier, the e-mail ends where the identity service would have put it: the store
    equals one where the same event was applied without the hint and the link went through the service."""
    (hinted,) = enrich(event_factory(author={"id": "frank"}, text="order placed", identity_hints={"email": "f@x.cn"}, at=T0))
    attached = open_storage(f"sqlite:///{tmp_path}/attached.db", None)
    linked = open_storage(f"sqlite:///{tmp_path}/linked.db", None)
    try:
        outcome = _apply(attached, [hinted])
        assert outcome.identity_signals == (), "nothing left for the identity service"
        assert outcome.assignments == {"email:f@x.cn": hinted.customer_id}
        (profile,) = outcome.profiles
        assert profile.identities == ("email:f@x.cn", "weibo:frank")

        without_hint = hinted.model_copy(update={"event": hinted.event.model_copy(update={"identity_hints": IdentityHints()})})
        _apply(linked, [without_hint])
        link = make_link("weibo:frank", "email:f@x.cn", Provenance(source="connector", actor="unit-test"), T0)
        apply_link_signals([LinkSignal(op="link", link=link, at=T0)], session_factory=linked.session_factory)
        for store in (attached, linked):
            with store.session_factory() as session:
                by_email = find_profile_by_identity("email:f@x.cn", session=session)
                assert by_email is not None and by_email.customer_id == hinted.customer_id
                assert active_link_ids([link.link_id], session=session) == {link.link_id}
        assert _profile_json(attached, hinted.customer_id) == _profile_json(linked, hinted.customer_id)
    finally:
        attached.close()
        linked.close()


def test_a_linking_key_another_customer_owns_is_published_for_the_identity_service_to_merge(
    storage, event_factory, enrich
):
    (first,) = enrich(event_factory(author={"id": "gus"}, text="hi", identity_hints={"phone": "13800000001"}, at=T0))
    (second,) = enrich(event_factory(platform="douyin", author={"id": "gus-dy"}, text="hi again",
                                     identity_hints={"phone": "13800000001"}, at=T0 + timedelta(hours=1)))
    assert _apply(storage, [first]).identity_signals == ()
    signals = _apply(storage, [second]).identity_signals
    assert [(s.op, {s.link.a, s.link.b} if s.link else None) for s in signals] == \
        [("link", {"douyin:gus-dy", "phone:+8613800000001"})]
    apply_link_signals(signals, session_factory=storage.session_factory)
    with storage.session_factory() as session:
        merged = find_profile_by_identity("douyin:gus-dy", session=session)
    assert merged is not None and merged.customer_id == first.customer_id and merged.event_count == 2


def test_two_accounts_stating_the_same_new_key_in_one_batch_are_left_to_the_identity_service(
    storage, event_factory, enrich
):
    batch = enrich(
        event_factory(author={"id": "hal"}, text="hi", identity_hints={"crm_id": "C-7"}, at=T0),
        event_factory(platform="zhihu", author={"id": "hal-zh"}, text="hi", identity_hints={"crm_id": "C-7"},
                      at=T0 + timedelta(minutes=1)),
    )
    outcome = _apply(storage, batch)
    assert outcome.assignments == {}
    assert sorted(s.link.a for s in outcome.identity_signals if s.link) == ["crm:C-7", "crm:C-7"]
    apply_link_signals(outcome.identity_signals, session_factory=storage.session_factory)
    with storage.session_factory() as session:
        merged = find_profile_by_identity("zhihu:hal-zh", session=session)
    assert merged is not None and merged.customer_id == batch[0].customer_id and merged.event_count == 2


def test_a_hint_link_is_stated_again_after_an_unlink(storage, event_factory, enrich):
    def order(n: int) -> list[EnrichedEvent]:
        return enrich(event_factory(author={"id": "ivy"}, text="order placed", identity_hints={"email": "i@x.cn"},
                                    at=T0 + timedelta(hours=n)))

    assert _apply(storage, order(0)).identity_signals == ()
    assert _apply(storage, order(1)).identity_signals == (), "an active link is not published"
    link_id = link_id_for("weibo:ivy", "email:i@x.cn")
    unlink = LinkSignal(op="unlink", link_id=link_id, requested_by="reviewer", at=T0 + timedelta(hours=2))
    apply_link_signals([unlink], session_factory=storage.session_factory)
    again = _apply(storage, order(3)).identity_signals
    assert [s.link.link_id for s in again if s.link] == [link_id], "the connector states it again"


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
