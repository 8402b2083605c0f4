"""``scrm rescore``'s job on PostgreSQL: the stored events get the new model's scores and their customers'
profiles (two accounts merged into one by an e-mail) are rebuilt from them, under the apply lane's locks."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from enrichment.contracts import Enrichment, ModelStamp, Sentiment
from enrichment.lexicon import LexiconEnricher
from ingest.codec import event_from_dict
from profile_store.repository import find_profile_by_identity
from profile_store.tables import ProfileEventRow
from streams.identity_service import apply_link_signals
from streams.jobs.rescore import rescore
from streams.steps.enrich import enrich_events
from streams.steps.identity import resolve_customer
from streams.storage import open_storage
from streams.unit_of_work import apply_enriched_batch

pytestmark = pytest.mark.integration
T0 = datetime(2032, 7, 1, 9, 0, tzinfo=UTC)


class AllPositive:
    stamp = ModelStamp(name="all-positive", version="2")

    def enrich(self, texts: Sequence[str]) -> list[Enrichment]:
        return [Enrichment(sentiment=Sentiment(label="positive", score=0.9, confidence=0.95), language="en",
                           model=self.stamp) for _ in texts]


def _payload(n: int, platform: str, author: str) -> dict:
    at = T0 + timedelta(minutes=n)
    return {"event_id": f"pg-rs-{n}", "platform": platform, "kind": "post", "occurred_at": at.isoformat(),
            "author": {"id": author}, "brand": "acme", "text": "terrible, broken, refund now", "source": "test",
            "identity_hints": {"email": "rescore.pg@example.org"}}


def test_rescoring_on_postgresql_rebuilds_a_merged_customer_from_the_new_scores(fresh_database_url) -> None:
    storage = open_storage(fresh_database_url, None)
    try:
        events = [event_from_dict(_payload(n, platform, author))
                  for n, (platform, author) in enumerate([("weibo", "pg-a"), ("douyin", "pg-b"), ("weibo", "pg-a")])]
        enriched = enrich_events([(e, resolve_customer(e, {})) for e in events], LexiconEnricher())
        outcome = apply_enriched_batch(enriched, session_factory=storage.session_factory, analytics=None)
        apply_link_signals(outcome.identity_signals, session_factory=storage.session_factory)
        with storage.session_factory() as session:
            before = find_profile_by_identity("weibo:pg-a", session=session)
        assert before is not None and before.sentiment.negative == 3 and "douyin:pg-b" in before.identities

        result = rescore(storage.session_factory, None, AllPositive(), page=2)

        assert (result.seen, result.rescored) == (3, 3)
        with storage.session_factory() as session:
            after = find_profile_by_identity("douyin:pg-b", session=session)
            stamps = {json.dumps(row.data["enrichment"]["model"]) for row in session.query(ProfileEventRow)}
        assert after is not None and after.customer_id == before.customer_id
        assert (after.sentiment.positive, after.sentiment.negative) == (3, 0)
        assert stamps == {json.dumps({"name": "all-positive", "version": "2"})}
        assert rescore(storage.session_factory, None, AllPositive()).rescored == 0
    finally:
        storage.close()
