"""Events are keyed by platform, author id and event id: two authors' events with one event id are two
events, applied to both profiles and judged by the detectors, and a replay of either changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select

from alerts.config import AlertingConfig
from alerts.repository import list_alerts, list_incidents
from alerts.tables import EventLedgerRow
from profile_store.identity_repository import customers_of
from profile_store.repository import find_profile_by_identity
from profile_store.tables import IdentityRow
from streams.alert_batch import AlertOutcome, alert_enriched_batch
from streams.contracts import EnrichedEvent
from streams.storage import Storage
from streams.unit_of_work import BatchOutcome, apply_enriched_batch

T0 = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
RISKY = "质量问题，我要投诉"


def _apply(storage: Storage, events: list[EnrichedEvent]) -> BatchOutcome:
    return apply_enriched_batch(events, session_factory=storage.session_factory, analytics=None)


def _alert(storage: Storage, events: list[EnrichedEvent]) -> AlertOutcome:
    return alert_enriched_batch(events, session_factory=storage.session_factory, config=AlertingConfig())


def _both(storage: Storage, events: list[EnrichedEvent]) -> tuple[BatchOutcome, AlertOutcome]:
    return _apply(storage, events), _alert(storage, events)


def _reused_id(event_factory, enrich) -> list[EnrichedEvent]:
    """Two authors' risky posts under one event id (an outside producer numbering each author's events)."""
    return enrich(
        event_factory(event_id="d-7", platform="douyin", author={"id": "ann", "handle": "ann"}, text=RISKY, at=T0),
        event_factory(event_id="d-7", platform="douyin", author={"id": "bob", "handle": "bob"}, text=RISKY,
                      at=T0 + timedelta(minutes=1)),
    )


def _timeline_ids(storage: Storage, identity_key: str) -> list[str]:
    with storage.session_factory() as session:
        profile = find_profile_by_identity(identity_key, session=session)
    assert profile is not None, identity_key
    return [item.event_id for item in profile.timeline]


def _state(storage: Storage) -> tuple[list[str], list[tuple[str, int, int]], int]:
    """Alert ids, incidents (id, count, version) and ledger size: what a replay must leave as it is."""
    with storage.session_factory() as session:
        alerts = sorted(a.alert_id for a in list_alerts(session=session))
        incidents = sorted((i.incident_id, i.count, i.version) for i in list_incidents(session=session))
        ledger = len(session.scalars(select(EventLedgerRow.event_key)).all())
    return alerts, incidents, ledger


def test_two_authors_events_with_one_event_id_in_one_batch_are_both_applied_and_judged(storage, event_factory,
                                                                                        enrich):
    ann, bob = _reused_id(event_factory, enrich)

    applied, judged = _both(storage, [ann, bob])

    assert [e.event.author.id for e in applied.applied] == ["ann", "bob"]
    assert _timeline_ids(storage, "douyin:ann") == ["d-7"] and _timeline_ids(storage, "douyin:bob") == ["d-7"]
    assert judged.fresh == {"douyin:ann/d-7", "douyin:bob/d-7"}
    risky = [a for a in judged.alerts if a.rule == "risk_terms"]
    assert sorted(a.event_key or "" for a in risky) == ["douyin:ann/d-7", "douyin:bob/d-7"]
    assert len({a.alert_id for a in risky}) == 2, "one alert per event, though both share the brand's incident"
    (incident,) = list_incidents(session=storage.session_factory())
    assert incident.count == 2


def test_two_authors_events_with_one_event_id_in_separate_batches_are_both_applied_and_judged(
    storage, event_factory, enrich
):
    ann, bob = _reused_id(event_factory, enrich)
    _both(storage, [ann])

    applied, judged = _both(storage, [bob])

    assert [e.event.author.id for e in applied.applied] == ["bob"]
    assert _timeline_ids(storage, "douyin:bob") == ["d-7"]
    assert judged.fresh == {"douyin:bob/d-7"}
    assert [a.event_key for a in judged.new_alerts() if a.rule == "risk_terms"] == ["douyin:bob/d-7"]


def test_replaying_two_authors_events_with_one_event_id_changes_nothing(storage, event_factory, enrich):
    ann, bob = _reused_id(event_factory, enrich)
    _both(storage, [ann])
    _both(storage, [bob])
    before = _state(storage)
    profiles = {key: _timeline_ids(storage, key) for key in ("douyin:ann", "douyin:bob")}

    applied, judged = _both(storage, [bob, ann])

    assert applied.applied == () and applied.profiles == ()
    assert judged.fresh == frozenset() and judged.new_alerts() == []
    assert sorted(a.alert_id for a in judged.alerts) == before[0], "the stored alerts are re-published"
    assert _state(storage) == before
    assert {key: _timeline_ids(storage, key) for key in profiles} == profiles


def test_an_author_whose_stored_event_is_replayed_but_who_is_not_registered_is_registered(
    storage, event_factory, enrich
):
    """A database restored from backups of different times can hold an event whose author's identity row
    is missing: replaying the event must register the author (it used to raise ``KeyError``)."""
    ann, bob = _reused_id(event_factory, enrich)
    _apply(storage, [ann])
    with storage.session_factory() as session, session.begin():
        session.execute(delete(IdentityRow).where(IdentityRow.identity_key == "douyin:ann"))

    outcome = _apply(storage, [ann, bob])

    assert [e.event.author.id for e in outcome.applied] == ["bob"]
    with storage.session_factory() as session:
        registered = customers_of(["douyin:ann", "douyin:bob"], session=session)
    assert registered == {"douyin:ann": ann.customer_id, "douyin:bob": bob.customer_id}
