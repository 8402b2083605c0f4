"""Next actions for a brand on the embedded runtime: a mix like a brand's day — valued customers at risk,
ready-to-buy prospects, an advocate, a customer who refused contact, noise and another brand's posts —
ranked, each for a reason this test names, with the posts behind it."""

from __future__ import annotations

from datetime import UTC, datetime

from identity.test_merge_and_unmerge import event
from profile_store.crm_import import parse_crm_csv
from profile_store.next_action_store import next_actions
from streams.jobs.crm_import import import_crm

AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
CRM = (
    "crm_id,name,tier,lifetime_value,weibo,consent_contact,consent_marketing\n"
    "C1,Gold Gao,gold,50000,g1,yes,yes\n"
    "C2,Silver Su,silver,300,s2,,\n"
    "C4,Quiet Qin,gold,80000,q4,no,no\n"
    "C8,Other Ou,gold,90000,o8,yes,yes\n"
)


def _day(runtime, storage) -> None:
    imported = parse_crm_csv(CRM.splitlines(keepends=True), source_name="crm.csv", at=AT)
    import_crm(imported, source="crm.csv", at=AT, session_factory=storage.session_factory)
    for line in (
        event("weibo", "g1", 2, "terrible service, I am switching to another brand"),
        event("weibo", "s2", 3, "快递太慢了，我要投诉"),
        event("weibo", "q4", 4, "worst support ever, refund now"),
        event("douyin", "p3", 5, "where can I buy the acme x1? take my money"),
        event("douyin", "p9", 6, "can anyone recommend a phone? is the acme x1 worth it?"),
        event("weibo", "n7", 7, "the acme x1 launched today"),
        event("weibo", "o8", 8, "worst support ever", brand="globex"),
        *(event("weibo", "a5", n, text, kind=kind) for n, text, kind in (
            (9, "love it, highly recommend the acme x1", "share"), (10, "amazing camera, love it", "share"),
            (11, "thanks, highly recommend", "reply"), (12, "love my acme x1, amazing", "post"))),
    ):
        runtime.publish(line)
    runtime.drain()


def test_the_list_ranks_valued_customers_at_risk_then_the_advocate_then_buyers_and_respects_consent(
    runtime, storage
) -> None:
    _day(runtime, storage)
    with storage.session_factory() as session:
        found = next_actions("acme", days=7, session=session)
    top = [(a.crm_id or a.display_name, a.action) for a in found.actions[:5]]
    assert top == [
        ("C1", "retain"),       # gold, lifetime value 50000, negative and threatening to switch: most at risk
        ("C2", "retain"),       # silver CRM customer with a complaint: valued, at risk, worth less than C1
        ("Name a5", "invite"),  # advocate: shared the brand twice, positive, recommends, influential
        ("Name p3", "convert"),  # prospect asking where to buy: ready to buy
        ("Name p9", "convert"),  # prospect asking for a recommendation: a weaker buying signal than p3's
    ]
    assert [a.rank for a in found.actions] == list(range(1, len(found.actions) + 1))
    assert [a.score for a in found.actions] == sorted((a.score for a in found.actions), reverse=True)
    by_name = {a.crm_id or a.display_name: a for a in found.actions}
    assert "C4" not in by_name and found.withheld_for_consent == 1, "C4 refused contact"
    assert "C8" not in by_name, "C8 complained about another brand"
    assert "Name n7" not in by_name, "a neutral post calls for nothing"
    first = by_name["C1"]
    assert "threatening to leave" in first.reason and "gold" in first.reason
    assert [p.event_id for p in first.evidence] == ["weibo-g1-2"] and first.evidence[0].sentiment == "negative"
    assert "asked to buy" in by_name["Name p3"].reason and "purchase_intent" in by_name["Name p3"].evidence[0].intents
    assert all(p.sentiment == "positive" for p in by_name["Name a5"].evidence)
    assert found.as_of is not None and found.as_of.hour == 20  # the newest event (hour 12 of START 08:00)


def test_a_brand_nobody_posted_about_has_no_actions(runtime, storage) -> None:
    _day(runtime, storage)
    with storage.session_factory() as session:
        assert next_actions("initech", session=session).actions == ()


def test_agents_and_marketers_read_the_list_over_the_api_and_analysts_may_not(runtime, storage) -> None:
    from fastapi.testclient import TestClient

    from api.app import ApiServices, create_app
    from enrichment.lexicon import LexiconEnricher

    _day(runtime, storage)
    keys = {"ag": "agent", "mk": "marketer", "an": "analyst"}
    app = create_app(ApiServices(session_factory=storage.session_factory, api_keys=keys, enricher=LexiconEnricher(),
                                 submit_links=lambda signals: None))
    with TestClient(app) as client:
        listed = client.get("/v1/next-actions", params={"brand": "acme", "limit": 2}, headers={"X-API-Key": "mk"})
        assert listed.status_code == 200
        body = listed.json()
        assert [(a["rank"], a["crm_id"], a["action"]) for a in body["actions"]] == [(1, "C1", "retain"), (2, "C2", "retain")]
        assert body["withheld_for_consent"] == 1 and body["actions"][0]["evidence"][0]["event_id"] == "weibo-g1-2"
        assert client.get("/v1/next-actions", params={"brand": "acme"}, headers={"X-API-Key": "ag"}).status_code == 200
        assert client.get("/v1/next-actions", params={"brand": "acme"}, headers={"X-API-Key": "an"}).status_code == 403
        assert client.get("/v1/next-actions", headers={"X-API-Key": "mk"}).status_code == 422
