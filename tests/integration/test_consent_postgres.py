"""Consent on a real PostgreSQL: the store keeps a WeChat unsubscribe through a merge and a CRM import's
grant, the merged profile carries the withdrawal, and the exports' and segment feeds' consent conditions
(JSON paths on PostgreSQL) leave the person out."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from alerts.routing import SegmentFeed
from alerts.segment_feeds import claim_feeds, ensure_feeds
from enrichment.lexicon import LexiconEnricher
from profile_store.consents import statements_of
from profile_store.contracts import Consent
from profile_store.crm_import import parse_crm_csv
from profile_store.repository import find_profile_by_identity
from profile_store.segments import parse_text
from profile_store.segments.store import create_segment, iter_members, withheld_for_consent
from streams.config import PipelineConfig
from streams.jobs.crm_import import import_crm
from streams.runtimes.embedded import EmbeddedRuntime
from streams.storage import Storage, open_storage

pytestmark = pytest.mark.integration
START = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def storage(fresh_database_url: str) -> Iterator[Storage]:
    opened = open_storage(fresh_database_url, None)
    yield opened
    opened.close()


def _event(platform: str, author: str, n: int, kind: str, text: str) -> bytes:
    at = START + timedelta(hours=n)
    return json.dumps({"event_id": f"{author}-{n}", "platform": platform, "kind": kind, "occurred_at": at.isoformat(),
                       "received_at": at.isoformat(), "author": {"id": author}, "brand": "acme", "text": text,
                       "source": "wechat-oa-acme"}).encode()


def test_a_withdrawal_survives_the_merge_and_leaves_the_person_out_of_exports_and_feeds(storage: Storage) -> None:
    with storage.session_factory.begin() as session:
        create_segment("posters", parse_text("event_count >= 1"), by="mia", at=START, session=session)
    runtime = EmbeddedRuntime(config=PipelineConfig(), enricher=LexiconEnricher(), storage=storage)
    runtime.publish(_event("weibo", "w1", 1, "post", "我很喜欢"))
    runtime.publish(_event("weibo", "w2", 2, "post", "一般般"))
    runtime.publish(_event("wechat", "o1", 3, "chat_message", "你好"))
    runtime.publish(_event("wechat", "o1", 4, "unfollow", ""))
    runtime.drain()
    text = "crm_id,handles,consent_marketing\nC-1,weibo:w1 wechat:o1,yes\n"
    imported = parse_crm_csv(text.splitlines(keepends=True), source_name="crm.csv", at=START)
    runtime.submit_links(imported.signals)
    runtime.drain()
    import_crm(imported, source="crm.csv", at=START, session_factory=storage.session_factory)

    with storage.session_factory() as session:
        merged = find_profile_by_identity("weibo:w1", session=session)
        other = find_profile_by_identity("weibo:w2", session=session)
        assert merged is not None and other is not None
        assert set(merged.identities) >= {"weibo:w1", "wechat:o1", "crm:C-1"}
        assert merged.consent == Consent(contact=False, marketing=False), "the unsubscribe is newer than the CRM's"
        assert {(s.identity_key, s.purpose, s.granted) for s in statements_of(merged.identities, session=session)} == {
            ("wechat:o1", "contact", False), ("wechat:o1", "marketing", False), ("crm:C-1", "marketing", True)}
        assert [m.customer_id for m in iter_members("posters", marketable=True, session=session)] == [other.customer_id]
        assert withheld_for_consent("posters", session=session) == 1

    feed = SegmentFeed(name="crm", channel="crm", segments=("posters",))
    with storage.session_factory.begin() as session:
        ensure_feeds([feed], now=START, session=session)
        (claimed,) = claim_feeds([feed], now=START, lease=timedelta(minutes=1), session=session)
    assert claimed.batch is not None
    assert {c.customer_id for c in claimed.batch.changes} == {other.customer_id}
