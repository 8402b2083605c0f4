"""Consent on the embedded runtime with a real SQLite store: a withdrawal made by one identity survives
merges and splits, the CRM import states consent (and a stale re-import never outranks a newer
withdrawal), the API states and reads it by role, and exports, next actions and segment feeds respect it."""

from __future__ import annotations

import csv
import io
import json
import random
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from alerts.dispatch import Dispatcher
from alerts.routing import RetryPolicy, RoutingConfig, SegmentFeed, WebhookChannel
from api.app import ApiServices, create_app
from enrichment.lexicon import LexiconEnricher
from identity.test_merge_and_unmerge import START, event, profile_of
from profile_store.consent_updates import state_consent
from profile_store.consents import consent_of, effective_consent, statements_of
from profile_store.contracts import Consent, ConsentStatement, LinkSignal
from profile_store.crm_import import parse_crm_csv
from profile_store.identity_repository import links_of_customer
from profile_store.segments import parse_text
from profile_store.segments.store import create_segment
from streams.jobs.crm_import import import_crm
from streams.runtimes.embedded import EmbeddedRuntime
from streams.storage import Storage

KEYS = {"ag": "agent", "mk": "marketer", "an": "analyst", "in": "ingest"}
AG, MK, AN, IN = ({"X-API-Key": k} for k in KEYS)


def _unfollow(runtime: EmbeddedRuntime, openid: str, n: int) -> None:
    runtime.publish(event("wechat", openid, n, "", kind="unfollow", source="wechat-oa-acme"))
    runtime.drain()


def _link(runtime: EmbeddedRuntime, row: str) -> None:
    runtime.submit_links(parse_crm_csv(["crm_id,handles\n", row], source_name="f", at=START).signals)
    runtime.drain()


def _state(storage: Storage, identity: str, at: datetime, **said: bool) -> None:
    customer = profile_of(storage, identity).customer_id
    with storage.session_factory.begin() as session:
        assert state_consent(customer, Consent(**said), source="api:test", at=at, session=session) is not None


def test_the_newest_statement_wins_and_a_withdrawal_wins_a_tie() -> None:
    def said(key: str, granted: bool, hours: int) -> ConsentStatement:
        return ConsentStatement(identity_key=key, purpose="marketing", granted=granted, source="t",
                                updated_at=START + timedelta(hours=hours))

    assert effective_consent([said("a", False, 1), said("b", True, 2)]).marketing is True
    assert effective_consent([said("b", True, 2), said("a", False, 3)]).marketing is False
    assert effective_consent([said("a", True, 2), said("b", False, 2)]).marketing is False
    assert effective_consent([]) == Consent()


def test_a_withdrawal_by_one_identity_survives_the_merge_and_stays_with_it_on_the_split(
        runtime: EmbeddedRuntime, storage: Storage) -> None:
    runtime.publish(event("weibo", "w1", 1, "我很喜欢"))
    runtime.publish(event("wechat", "o1", 2, "你好", kind="chat_message"))
    runtime.drain()
    _unfollow(runtime, "o1", 3)
    assert profile_of(storage, "wechat:o1").consent == Consent(contact=False, marketing=False)
    assert profile_of(storage, "weibo:w1").consent == Consent()

    _link(runtime, "C-1,weibo:w1 wechat:o1\n")
    merged = profile_of(storage, "weibo:w1")
    assert merged == profile_of(storage, "wechat:o1") and merged.consent == Consent(contact=False, marketing=False)

    with storage.session_factory() as session:
        links = [link for link, active in links_of_customer(merged.customer_id, session=session) if active]
    wechat_link = next(link for link in links if "wechat:o1" in (link.a, link.b))
    runtime.submit_links([LinkSignal(op="unlink", link_id=wechat_link.link_id, requested_by="test", at=START)])
    runtime.drain()
    assert profile_of(storage, "wechat:o1").consent == Consent(contact=False, marketing=False)
    assert profile_of(storage, "weibo:w1").consent == Consent(), "the withdrawal was the WeChat account's"


def test_replaying_the_unfollow_changes_nothing_and_a_later_grant_outranks_it(
        runtime: EmbeddedRuntime, storage: Storage) -> None:
    _unfollow(runtime, "o1", 3)
    with storage.session_factory() as session:
        first = statements_of(["wechat:o1"], session=session)
    assert [(s.purpose, s.granted, s.source) for s in first] == [
        ("contact", False, "wechat-oa-acme"), ("marketing", False, "wechat-oa-acme")]
    _unfollow(runtime, "o1", 3)
    with storage.session_factory() as session:
        assert statements_of(["wechat:o1"], session=session) == first

    _state(storage, "wechat:o1", START + timedelta(days=1), marketing=True)
    assert profile_of(storage, "wechat:o1").consent == Consent(contact=False, marketing=True)
    _state(storage, "wechat:o1", START, marketing=False)  # older than the grant: no effect
    assert profile_of(storage, "wechat:o1").consent.marketing is True


def test_the_crm_import_states_consent_and_a_stale_re_import_does_not_outrank_a_newer_withdrawal(
        runtime: EmbeddedRuntime, storage: Storage) -> None:
    header = "crm_id,name,weibo,consent_marketing,consent_analytics\n"

    def load(at: datetime, row: str = "C1,Ann,w1,yes,no\n") -> None:
        imported = parse_crm_csv([header, row], source_name="crm.csv", at=at)
        import_crm(imported, source="crm.csv", at=at, session_factory=storage.session_factory)

    runtime.publish(event("weibo", "w1", 1, "hello"))
    runtime.drain()
    load(START + timedelta(days=1))
    assert profile_of(storage, "weibo:w1").consent == Consent(marketing=True, analytics=False)
    with storage.session_factory() as session:
        assert {(s.identity_key, s.purpose, s.granted, s.source) for s in statements_of(["crm:C1"], session=session)} \
            == {("crm:C1", "marketing", True, "crm"), ("crm:C1", "analytics", False, "crm")}

    _state(storage, "weibo:w1", START + timedelta(days=2), marketing=False)
    load(START + timedelta(days=3), "C1,Ann Li,w1,yes,no\n")
    assert profile_of(storage, "crm:C1").crm["name"] == "Ann Li"
    assert profile_of(storage, "crm:C1").consent.marketing is False, "the unchanged CRM column states nothing new"
    load(START + timedelta(days=4), "C1,Ann Li,w1,no,yes\n")
    assert profile_of(storage, "crm:C1").consent == Consent(marketing=False, analytics=True), "a changed one does"


@pytest.fixture
def api(storage: Storage, runtime: EmbeddedRuntime):
    runtime.publish(event("weibo", "w1", 1, "我很喜欢"))
    runtime.publish(event("weibo", "w2", 2, "一般般"))
    runtime.drain()
    _link(runtime, "C-1,weibo:w1 email:ann@example.com\n")
    app = create_app(ApiServices(session_factory=storage.session_factory, api_keys=KEYS, enricher=LexiconEnricher(),
                                 submit_links=lambda signals: None))
    with TestClient(app) as opened:
        yield opened


def test_agents_and_marketers_state_consent_for_every_identity_and_analysts_only_read(api, storage) -> None:
    ann = profile_of(storage, "weibo:w1").customer_id
    assert api.put(f"/v1/profiles/{ann}/consent", json={"marketing": False}, headers=AN).status_code == 403
    assert api.put(f"/v1/profiles/{ann}/consent", json={"marketing": False}, headers=IN).status_code == 403
    assert api.get(f"/v1/profiles/{ann}/consent", headers=IN).status_code == 403
    assert api.put("/v1/profiles/nobody/consent", json={"marketing": False}, headers=AG).status_code == 404
    assert api.put(f"/v1/profiles/{ann}/consent", json={"marketing": "maybe"}, headers=AG).status_code == 422

    put = api.put(f"/v1/profiles/{ann}/consent", json={"marketing": False}, headers=AG)
    assert put.status_code == 200 and put.json()["consent"] == {"contact": None, "marketing": False, "analytics": None}
    assert {(s["identity_key"], s["source"]) for s in put.json()["statements"]} == {
        (key, "api:env:agent") for key in ("crm:C-1", "email:ann@example.com", "weibo:w1")}
    api.put(f"/v1/profiles/{ann}/consent", json={"contact": True}, headers=MK)
    read = api.get(f"/v1/profiles/{ann}/consent", headers=AN).json()
    assert read["consent"] == {"contact": True, "marketing": False, "analytics": None}, "omitted purposes unchanged"
    profile = api.get(f"/v1/profiles/{ann}", headers=AN).json()
    assert profile["consent"] == read["consent"], "the profile shows the effective consent"


def test_exports_leave_out_members_who_withdrew_marketing_and_count_them(api, storage, capsys) -> None:
    with storage.session_factory.begin() as session:
        create_segment("posters", parse_text("event_count >= 1"), by="mia", at=START, session=session)
    ann, bo = (profile_of(storage, key).customer_id for key in ("weibo:w1", "weibo:w2"))
    api.put(f"/v1/profiles/{bo}/consent", json={"marketing": False}, headers=MK)

    exported = api.get("/v1/segments/posters/members.csv", headers=MK)
    assert [row["customer_id"] for row in csv.DictReader(io.StringIO(exported.text))] == [ann]
    assert exported.headers["X-Withheld-For-Consent"] == "1"
    page = api.get("/v1/segments/posters/members", headers=MK).json()
    assert [m["customer_id"] for m in page["members"]] == [ann]
    assert (page["total"], page["withheld_for_consent"]) == (2, 1)

    api.put(f"/v1/profiles/{bo}/consent", json={"marketing": True}, headers=MK)
    assert api.get("/v1/segments/posters/members.csv", headers=MK).headers["X-Withheld-For-Consent"] == "0"


def test_a_segment_feed_skips_customers_who_withdrew_marketing(storage: Storage, runtime: EmbeddedRuntime) -> None:
    with storage.session_factory.begin() as session:
        create_segment("posters", parse_text("event_count >= 1"), by="mia", at=START, session=session)
    runtime.publish(event("weibo", "w1", 1, "我很喜欢"))
    runtime.publish(event("weibo", "w2", 2, "一般般"))
    runtime.drain()
    _state(storage, "weibo:w2", START + timedelta(days=1), marketing=False)
    sent: list[str] = []

    def receiver(channel, body: bytes, idempotency_key: str, now) -> None:
        sent.extend(c["customer_id"] for c in json.loads(body)["changes"])

    def never(channel, delivery, now):
        raise AssertionError("no incident in this test")

    routing = RoutingConfig(channels={"crm": WebhookChannel(url="http://127.0.0.1:9/crm", secret="s")},
                            segment_feeds=(SegmentFeed(name="crm", channel="crm", segments=("posters",)),),
                            retry=RetryPolicy(base_seconds=10, max_seconds=10, jitter=0.0))
    dispatcher = Dispatcher(storage.session_factory, routing, clock=lambda: START, sender=never, feed_sender=receiver,
                            rng=random.Random(1), workers=1)
    try:
        assert dispatcher.run_once().segment_changes == 1
    finally:
        dispatcher.close()
    assert sent == [profile_of(storage, "weibo:w1").customer_id]


def test_next_actions_read_the_effective_consent_from_the_store(storage: Storage, runtime: EmbeddedRuntime) -> None:
    from profile_store.next_action_store import next_actions

    runtime.publish(event("weibo", "w1", 1, "这个手机多少钱？我想买"))
    runtime.drain()
    with storage.session_factory() as session:
        before = next_actions("acme", session=session)
    assert before.withheld_for_consent == 0 and len(before.actions) == 1
    _state(storage, "weibo:w1", START + timedelta(days=1), contact=False)
    with storage.session_factory() as session:
        after = next_actions("acme", session=session)
        assert consent_of({"x": ["weibo:w1"]}, session=session)["x"].contact is False
    assert (after.actions, after.withheld_for_consent) == ((), 1)
