"""``alert_enriched_batch`` against a real SQLite file: alerts without waiting for profiles, each author
judged by the standing their earlier posts gave them (the alert lane's own fold), idempotent by event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alerts.config import AlertingConfig
from alerts.repository import list_alerts, list_incidents
from profile_store.contracts import CustomerProfile, Lifecycle
from profile_store.identity_repository import set_redirects
from profile_store.repository import save_author_folds, save_profiles
from streams.alert_batch import AlertOutcome, alert_enriched_batch
from streams.contracts import EnrichedEvent
from streams.storage import Storage
from streams.unit_of_work import apply_enriched_batch

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
COMPLAINT = "terrible quality, broken after a day, I want a refund. worst purchase"
PRAISE = "love it, great service, the best phone I have had"


def _alert(storage: Storage, events: list[EnrichedEvent]) -> AlertOutcome:
    return alert_enriched_batch(events, session_factory=storage.session_factory, config=AlertingConfig())


def _profile(customer_id: str, *, influence: float = 0.0, lifecycle: Lifecycle = "prospect") -> CustomerProfile:
    return CustomerProfile(customer_id=customer_id, first_seen=T0, last_seen=T0, influence=influence,
                           lifecycle=lifecycle)


def _store_fold(storage: Storage, customer_id: str, **standing: object) -> None:
    """The alert lane's fold of an author, as its earlier posts (or the upgrade from stored profiles) left it."""
    with storage.session_factory() as session, session.begin():
        save_author_folds([_profile(customer_id, **standing)], session=session)  # type: ignore[arg-type]


def test_a_batch_raises_and_stores_its_alerts_before_any_profile_exists(storage, event_factory, enrich):
    calm, complaint = enrich(
        event_factory(author={"id": "ann"}, text="hello there", at=T0),
        event_factory(author={"id": "bob", "followers": 20_000}, text=COMPLAINT, at=T0 + timedelta(minutes=1)),
    )

    outcome = _alert(storage, [calm, complaint])

    assert [(a.rule, a.event_id, a.customer_id) for a in outcome.alerts] == [
        ("negative_post", complaint.event.event_id, complaint.customer_id)]
    assert outcome.new_alerts() == list(outcome.alerts)
    with storage.session_factory() as session:
        assert [a.alert_id for a in list_alerts(session=session)] == [outcome.alerts[0].alert_id]
        assert len(list_incidents(session=session)) == 1


def test_a_replayed_batch_moves_no_detector_state_and_returns_the_same_alerts(storage, event_factory, enrich):
    batch = enrich(
        event_factory(author={"id": "bob", "followers": 20_000}, text=COMPLAINT, at=T0),
        event_factory(author={"id": "bob", "followers": 20_000}, text=COMPLAINT + "!", at=T0 + timedelta(minutes=1)),
    )
    first = _alert(storage, batch)
    with storage.session_factory() as session:
        (incident,) = list_incidents(session=session)

    replay = _alert(storage, [*reversed(batch)])

    assert replay.fresh == frozenset() and replay.new_alerts() == []
    assert sorted(a.alert_id for a in replay.alerts) == sorted(a.alert_id for a in first.alerts)
    with storage.session_factory() as session:
        (again,) = list_incidents(session=session)
        assert len(list_alerts(session=session)) == len(first.alerts)
    assert (again.version, again.count, again.alert_ids) == (incident.version, incident.count, incident.alert_ids)


def test_events_already_applied_to_profiles_are_still_new_to_the_detectors(storage, event_factory, enrich):
    batch = enrich(event_factory(author={"id": "bob", "followers": 20_000}, text=COMPLAINT, at=T0))
    apply_enriched_batch(batch, session_factory=storage.session_factory, analytics=None)

    outcome = _alert(storage, batch)

    assert [a.rule for a in outcome.new_alerts()] == ["negative_post"]


def test_the_authors_folded_influence_and_lifecycle_judge_the_post(storage, event_factory, enrich):
    star_complaint, advocate_post, stranger_post = enrich(
        event_factory(author={"id": "star", "followers": 10}, text=COMPLAINT, at=T0),
        event_factory(author={"id": "fan", "followers": 10}, kind="post", text=PRAISE, at=T0),
        event_factory(author={"id": "new", "followers": 10}, kind="post", text=PRAISE, at=T0),
    )
    _store_fold(storage, star_complaint.customer_id, influence=80.0)
    _store_fold(storage, advocate_post.customer_id, lifecycle="advocate")

    outcome = _alert(storage, [star_complaint, advocate_post, stranger_post])

    rules = {(a.rule, a.customer_id): a for a in outcome.alerts}
    star = rules[("negative_post", star_complaint.customer_id)]
    assert star.severity == 4 and star.evidence["author_influence"] == 80.0
    assert ("advocate_content", advocate_post.customer_id) in rules
    assert not any(customer == stranger_post.customer_id for _, customer in rules), \
        "an author never seen is an uninfluential prospect"


def test_the_apply_lanes_progress_does_not_change_how_a_post_is_judged(storage, event_factory, enrich):
    (post,) = enrich(event_factory(author={"id": "fan", "followers": 10}, kind="post", text=PRAISE, at=T0))
    with storage.session_factory() as session, session.begin():
        save_profiles([_profile(post.customer_id, lifecycle="advocate")], session=session)

    assert [a.rule for a in _alert(storage, [post]).alerts] == [], \
        "a profile the apply lane built from events the detectors never saw does not make an advocate"


def test_an_author_becomes_an_advocate_by_earlier_posts_alike_in_one_batch_or_many(
    sqlite_url, event_factory, enrich
):
    from streams.storage import open_storage

    history = [
        event_factory(author={"id": "ada"}, kind="share", text="sharing this, love it", parent_id="p1", at=T0),
        event_factory(author={"id": "ada"}, kind="share", text="great service, sharing", parent_id="p2",
                      at=T0 + timedelta(hours=1)),
        event_factory(author={"id": "ada"}, kind="reply", text="love it, the best, recommend it to you",
                      parent_id="q1", at=T0 + timedelta(hours=2)),
        event_factory(author={"id": "ada"}, kind="post", text=PRAISE, at=T0 + timedelta(hours=3)),
    ]
    results = []
    for batches in ([history], [[e] for e in history]):
        storage = open_storage(sqlite_url.replace("t.db", f"t{len(batches)}.db"), None)
        try:
            rules = [a.rule for batch in batches for a in _alert(storage, enrich(*batch)).alerts]
        finally:
            storage.close()
        results.append(rules)
    assert results[0] == results[1]
    assert results[0].count("advocate_content") == 1, "only the post after the history is an advocate's"


def test_a_merged_away_customer_is_judged_by_the_survivors_fold(storage, event_factory, enrich):
    (post,) = enrich(event_factory(author={"id": "old-account", "followers": 10}, text=PRAISE, at=T0))
    _store_fold(storage, "survivor", lifecycle="advocate")
    with storage.session_factory() as session, session.begin():
        set_redirects({post.customer_id: "survivor"}, session=session)

    outcome = _alert(storage, [post])

    assert [a.rule for a in outcome.alerts] == ["advocate_content"]
