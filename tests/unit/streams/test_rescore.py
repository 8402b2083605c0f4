"""``streams.jobs.rescore``: stored events scored by one model are scored again by another; the stored
payloads carry the new stamp, profiles count the new sentiment, ClickHouse's events hold the new rows and its
rollups count every event once, with its new score; a second pass changes nothing."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from enrichment.contracts import Enrichment, ModelStamp, Sentiment
from enrichment.lexicon import LexiconEnricher
from profile_store.repository import find_profile_by_identity
from streams.config import PipelineConfig
from streams.jobs.rescore import rescore
from streams.runtimes.embedded import EmbeddedRuntime
from streams.storage import Storage

T0 = datetime(2032, 6, 1, 9, 0, tzinfo=UTC)


class AllPositive:
    """A model that finds every text positive (what a retrained model that disagrees looks like)."""

    stamp = ModelStamp(name="all-positive", version="2")

    def enrich(self, texts: Sequence[str]) -> list[Enrichment]:
        return [Enrichment(sentiment=Sentiment(label="positive" if t else "neutral", score=0.9 if t else 0.0,
                                               confidence=0.95), language="en", model=self.stamp) for t in texts]


@pytest.fixture
def storage(chdb_storage: Storage) -> Storage:
    return chdb_storage


def _rollup(storage: Storage, brand: str) -> tuple[int, int, int]:
    assert storage.analytics is not None
    _, rows = storage.analytics.query(
        f"SELECT sum(events), sum(positive), sum(negative) FROM {storage.analytics.database}.sentiment_hour "
        "WHERE brand = {b:String} AND topic = ''", {"b": brand})
    return tuple(int(v) for v in rows[0])  # type: ignore[return-value]


def test_rescoring_moves_profiles_events_and_rollups_to_the_new_model_once(storage, event_factory) -> None:
    brand = f"rs-{uuid.uuid4().hex[:6]}"
    runtime = EmbeddedRuntime(config=PipelineConfig(), enricher=LexiconEnricher(), storage=storage)
    posts = [event_factory(author={"id": f"{brand}-{n % 2}"}, brand=brand, at=T0 + timedelta(minutes=50 * n),
                           text="terrible quality, broken after a day, I want a refund") for n in range(4)]
    like = event_factory(author={"id": f"{brand}-0"}, brand=brand, kind="like", text=None, at=T0)
    for payload in (*posts, like):
        runtime.publish(json.dumps(payload).encode())
    runtime.drain()
    assert _rollup(storage, brand) == (4, 0, 4)

    result = rescore(storage.session_factory, storage.analytics, AllPositive())

    assert (result.seen, result.rescored, result.profiles) == (5, 5, 2)
    with storage.session_factory() as session:
        profile = find_profile_by_identity(f"weibo:{brand}-0", session=session)
    assert profile is not None and (profile.sentiment.positive, profile.sentiment.negative) == (2, 0)
    assert profile.sentiment.ewma > 0
    _, rows = storage.analytics.query(
        f"SELECT sentiment_label, model_name, count() FROM {storage.analytics.database}.events FINAL "
        "WHERE brand = {b:String} GROUP BY sentiment_label, model_name ORDER BY sentiment_label", {"b": brand})
    assert set(rows) == {(None, "all-positive", 1), ("positive", "all-positive", 4)}, "no text: no sentiment"
    assert _rollup(storage, brand) == (4, 4, 0), "every event counted once, with its new score"

    again = rescore(storage.session_factory, storage.analytics, AllPositive())
    assert (again.seen, again.rescored) == (5, 0)
    assert _rollup(storage, brand) == (4, 4, 0)


def test_a_range_rescores_only_its_events_and_a_dry_run_changes_nothing(storage, event_factory) -> None:
    brand = f"rr-{uuid.uuid4().hex[:6]}"
    runtime = EmbeddedRuntime(config=PipelineConfig(), enricher=LexiconEnricher(), storage=storage)
    for n in range(3):
        runtime.publish(json.dumps(event_factory(author={"id": f"{brand}-a"}, brand=brand, text="awful, broken",
                                                 at=T0 + timedelta(days=n))).encode())
    runtime.drain()

    dry = rescore(storage.session_factory, storage.analytics, AllPositive(), since=T0 + timedelta(hours=12),
                  dry_run=True)
    assert (dry.seen, dry.rescored, dry.profiles) == (2, 2, 0)
    assert _rollup(storage, brand) == (3, 0, 3)
    done = rescore(storage.session_factory, storage.analytics, AllPositive(), since=T0 + timedelta(hours=12),
                   until=T0 + timedelta(days=1, hours=1))
    assert done.rescored == 1
    assert _rollup(storage, brand) == (3, 1, 2)
    with storage.session_factory() as session:
        profile = find_profile_by_identity(f"weibo:{brand}-a", session=session)
    assert profile is not None and (profile.sentiment.positive, profile.sentiment.negative) == (1, 2)


def test_rescoring_writes_nothing_of_a_customer_who_withdrew_analytics_consent(storage, event_factory) -> None:
    from analytics.erasure import AnalyticsSubject, exclude_person
    from profile_store.consent_updates import state_consent
    from profile_store.contracts import Consent

    brand = f"rc-{uuid.uuid4().hex[:6]}"
    runtime = EmbeddedRuntime(config=PipelineConfig(), enricher=LexiconEnricher(), storage=storage)
    for author in ("out", "in"):
        runtime.publish(json.dumps(event_factory(author={"id": f"{brand}-{author}"}, brand=brand, text="broken",
                                                 at=T0)).encode())
    runtime.drain()
    with storage.session_factory.begin() as session:
        customer = find_profile_by_identity(f"weibo:{brand}-out", session=session).customer_id
        change = state_consent(customer, Consent(analytics=False), source="api:test", at=T0, session=session)
    exclude_person(storage.analytics, AnalyticsSubject(identity_keys=change.identity_keys, customer_ids=(customer,)))

    assert rescore(storage.session_factory, storage.analytics, AllPositive()).rescored == 2

    _, rows = storage.analytics.query(
        f"SELECT author_id FROM {storage.analytics.database}.events FINAL WHERE brand = {{b:String}}", {"b": brand})
    assert rows == [(f"{brand}-in",)], "the withdrawn customer's event is not written back"
    assert _rollup(storage, brand) == (1, 1, 0)
