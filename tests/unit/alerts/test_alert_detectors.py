"""Per-post detectors: influential negative, risk terms with zh folding, opportunities, suggested replies."""

from __future__ import annotations

from alert_builders import make_post, negative

from alerts.config import AlertingConfig, NegativePostConfig, OpportunityConfig, RiskTermsConfig
from alerts.detectors import detect_negative_post, detect_opportunities, detect_risk_terms
from alerts.state import DetectorState
from alerts.suite import run_detectors
from alerts.text import fold, matches

CONFIG = AlertingConfig()


def test_an_ordinary_negative_post_raises_nothing_on_its_own():
    assert detect_negative_post(negative(make_post().event.occurred_at), NegativePostConfig(), RiskTermsConfig()) is None


def test_a_negative_post_by_an_author_with_reach_is_an_influential_negative_with_evidence():
    post = negative(make_post().event.occurred_at, author={"followers": 250_000}, influence=55.0)
    alert = detect_negative_post(post, NegativePostConfig(), RiskTermsConfig())
    assert alert is not None and alert.rule == "negative_post" and alert.kind == "crisis"
    assert alert.severity == 3
    assert alert.evidence["followers"] == 250_000 and alert.evidence["author_influence"] == 55.0
    assert alert.evidence["text"] == post.event.text


def test_verified_and_very_influential_authors_raise_higher_severity_and_severe_terms_add_one():
    at = make_post().event.occurred_at
    verified = detect_negative_post(negative(at, author={"verified": True}), NegativePostConfig(), RiskTermsConfig())
    huge = detect_negative_post(negative(at, author={"followers": 5_000_000}, text="recall this now"),
                                NegativePostConfig(), RiskTermsConfig())
    assert verified is not None and verified.severity == 3
    assert huge is not None and huge.severity == 5 and huge.evidence["risk_terms"] == ["recall"]


def test_risk_terms_match_traditional_and_full_width_forms():
    assert fold("質量問題 ３１５") == "质量问题 315"
    assert matches("這是質量問題，我要投訴！", RiskTermsConfig().terms) == ["质量问题", "投诉"]
    assert matches("No ISSUE here", ("sue",)) == []
    assert matches("we will SUE them", ("sue",)) == ["sue"]


def test_a_severe_risk_term_is_a_severity_4_crisis_sharing_the_brand_incident_key():
    alert = detect_risk_terms(make_post(text="吃了以后食物中毒了", label="negative", score=-0.7), RiskTermsConfig())
    assert alert is not None and alert.severity == 4
    assert alert is not None and alert.dedup_key == "crisis:brand:acme"
    assert alert.evidence["severe_terms"] == ["食物中毒"]


def test_purchase_intent_is_an_opportunity_with_a_suggested_reply_in_the_posts_language():
    post = make_post(text="想换手机了，求推荐！", intents=("recommendation_request",), language="zh-Hans")
    alerts, _ = run_detectors([post], DetectorState(), CONFIG)
    (alert,) = alerts
    assert alert.rule == "purchase_intent" and alert.kind == "opportunity"
    assert alert.evidence["matched_intents"] == ["recommendation_request"] and alert.evidence["matched_phrases"] == []
    assert alert.suggested_reply is not None and alert.suggested_reply.language == "zh-Hans"
    assert alert.suggested_reply.template_id == "purchase.zh-Hans"
    assert "@" + post.event.author.handle in alert.suggested_reply.text and "acme" in alert.suggested_reply.text


def test_an_operators_purchase_phrases_count_where_the_intent_head_saw_none():
    post = make_post(text="想换手机了，求推荐！", language="zh-Hans")
    assert run_detectors([post], DetectorState(), CONFIG)[0] == []
    config = CONFIG.model_copy(update={"opportunity": CONFIG.opportunity.model_copy(
        update={"purchase_phrases": ("求推荐",)})})
    (alert,) = run_detectors([post], DetectorState(), config)[0]
    assert alert.rule == "purchase_intent" and alert.evidence["matched_phrases"] == ["求推荐"]


def test_a_delivery_complaint_gets_the_apology_and_next_step_template_in_traditional_chinese():
    post = negative(make_post().event.occurred_at, text="快遞太慢了", topics=("delivery_logistics",),
                    language="zh-Hant", author={"followers": 80_000})
    alerts, _ = run_detectors([post], DetectorState(), CONFIG)
    (alert,) = alerts
    assert alert.suggested_reply is not None
    assert alert.suggested_reply.template_id == "complaint.delivery.zh-Hant"
    assert "抱歉" in alert.suggested_reply.text


def test_reply_templates_can_be_overridden_by_a_file(tmp_path):
    override = tmp_path / "t.json"
    override.write_text('{"templates": [{"id": "purchase.en", "intent": "purchase_intent", "topic": null, '
                        '"language": "en", "text": "Custom {brand} offer"}]}', encoding="utf-8")
    config = AlertingConfig(reply_templates=str(override))
    alerts, _ = run_detectors([make_post(text="where can I buy one?", intents=("purchase_intent",))], DetectorState(),
                              config)
    assert alerts[0].suggested_reply is not None and alerts[0].suggested_reply.text == "Custom acme offer"


def test_influencer_praise_and_advocate_content_are_opportunities_but_a_brand_account_is_not():
    config = OpportunityConfig(brand_handles=("acme_official",))
    praise = make_post(text="love the new acme phone", label="positive", score=0.9, author={"followers": 90_000})
    advocate = make_post(text="my third acme, still great", label="positive", score=0.6, lifecycle="advocate")
    brand = make_post(text="where can I buy? at acme.com", author={"handle": "acme_official"})
    assert [a.rule for a in detect_opportunities(praise, config)] == ["influencer_positive"]
    assert [a.rule for a in detect_opportunities(advocate, config)] == ["advocate_content"]
    no_brand = make_post(text="my third one, still great", label="positive", score=0.6, lifecycle="advocate",
                         brand=None, author={"followers": 90_000})
    assert detect_opportunities(no_brand, config) == []
    assert detect_opportunities(brand, config) == []
