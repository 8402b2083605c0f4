"""Share velocity, unanswered questions (event time), fire caps and the incident lifecycle."""

from __future__ import annotations

from datetime import timedelta

import pytest
from alert_builders import T0, make_post, negative

from alerts import incidents as lc
from alerts.config import AlertingConfig, IncidentConfig, OpportunityConfig
from alerts.exceptions import InvalidTransition
from alerts.incidents import escalation_due, fold_alerts
from alerts.state import DetectorState
from alerts.suite import run_detectors

CONFIG = AlertingConfig(opportunity=OpportunityConfig(brand_handles=("acme_official",)))


def test_a_negative_post_shared_fast_raises_a_velocity_alert_naming_its_top_sharers():
    root = negative(T0, text="acme charger melted")
    shares = [make_post(at=T0 + timedelta(seconds=30 * i), kind="share", text=None, parent_id=root.event.event_id,
                        influence=float(i)) for i in range(25)]
    alerts, state = run_detectors([root, *shares], DetectorState(), CONFIG)
    velocity = [a for a in alerts if a.rule == "negative_velocity"]
    assert len(velocity) == 1 and velocity[0].evidence["interactions"] == 20
    assert velocity[0].evidence["post"]["event_id"] == root.event.event_id
    assert velocity[0].evidence["top_sharers"][0]["influence"] == 19.0
    assert velocity[0].dedup_key == "crisis:brand:acme"


def test_slow_sharing_does_not_fire():
    root = negative(T0)
    shares = [make_post(at=T0 + timedelta(hours=i), kind="share", text=None, parent_id=root.event.event_id)
              for i in range(30)]
    alerts, _ = run_detectors([root, *shares], DetectorState(), CONFIG)
    assert [a for a in alerts if a.rule == "negative_velocity"] == []


def test_a_question_unanswered_past_its_time_on_event_time_is_an_opportunity():
    question = make_post(at=T0, text="does the acme x1 support wireless charging?", intents=("question",))
    _, state = run_detectors([question], DetectorState(), CONFIG)
    alerts, state = run_detectors([make_post(at=T0 + timedelta(minutes=59))], state, CONFIG)
    assert alerts == [] and len(state.questions) == 1
    alerts, state = run_detectors([make_post(at=T0 + timedelta(minutes=61))], state, CONFIG)
    (alert,) = alerts
    assert alert.rule == "unanswered_question" and alert.event_id == question.event.event_id
    assert alert.occurred_at == T0 + timedelta(minutes=60) and state.questions == {}
    assert alert.suggested_reply is not None and alert.suggested_reply.template_id == "question.en"


def test_a_brand_reply_answers_the_question():
    question = make_post(at=T0, text="is there a warranty?", intents=("question",))
    reply = make_post(at=T0 + timedelta(minutes=5), kind="reply", text="yes, 2 years",
                      parent_id=question.event.event_id, author={"handle": "acme_official"})
    _, state = run_detectors([question, reply], DetectorState(), CONFIG)
    alerts, _ = run_detectors([make_post(at=T0 + timedelta(hours=3))], state, CONFIG)
    assert alerts == [] and state.questions == {}


def test_fire_caps_send_alerts_over_the_cap_into_one_overflow_incident():
    posts = [negative(T0 + timedelta(minutes=i), author={"followers": 50_000}) for i in range(8)]
    alerts, _ = run_detectors(posts, DetectorState(), CONFIG)
    folded = fold_alerts(alerts, {}, {}, IncidentConfig(max_new_per_window=5), T0)
    keys = sorted(folded.incidents)
    assert len(keys) == 6 and "overflow:negative_post:acme" in keys
    assert folded.incidents["overflow:negative_post:acme"].count == 3


def test_a_question_mark_without_the_question_intent_waits_for_no_answer():
    statement = make_post(at=T0, text="用了一个月了，没什么问题？", intents=("praise",))
    _, state = run_detectors([statement], DetectorState(), CONFIG)
    assert state.questions == {}


def test_over_budget_incidents_are_titled_by_what_they_group_not_by_one_author():
    posts = [negative(T0 + timedelta(minutes=i), author={"followers": 50_000, "handle": f"critic{i}"})
             for i in range(8)]
    alerts, _ = run_detectors(posts, DetectorState(), CONFIG)
    folded = fold_alerts(alerts, {}, {}, IncidentConfig(budgets={"negative_post": 2}), T0)
    overflow = folded.incidents["overflow:negative_post:acme"]
    assert len(folded.incidents) == 3 and overflow.count == 6
    assert overflow.title == "Over budget: 6 more influential negative posts for acme since 2026-11-02 00:02 UTC"
    assert "critic" not in overflow.title


def test_low_severity_alerts_join_one_digest_per_rule_brand_and_window():
    buyers = [make_post(at=T0 + timedelta(minutes=20 * i), text=f"want to buy the x{i}", intents=("purchase_intent",))
              for i in range(6)]
    alerts, _ = run_detectors(buyers, DetectorState(), CONFIG)
    assert {a.severity for a in alerts} == {2}
    folded = fold_alerts(alerts, {}, {}, IncidentConfig(digest_window_minutes=60), T0)
    digests = sorted(folded.incidents.values(), key=lambda i: i.first_seen)
    assert [i.count for i in digests] == [3, 3]  # 20-minute steps: three per event-time hour
    assert [i.dedup_key for i in digests] == ["digest:purchase_intent:acme:2026-11-02T00:00:00+00:00",
                                             "digest:purchase_intent:acme:2026-11-02T01:00:00+00:00"]
    assert digests[0].title == "Digest: 3 purchase-intent posts for acme, 2026-11-02 00:00–01:00 UTC"
    assert len(digests[0].evidence["posts"]) == 3
    assert folded.caps == {}  # digests spend no budget
    (four_hours,) = fold_alerts(alerts, {}, {}, IncidentConfig(), T0).incidents.values()  # the default window
    assert four_hours.count == 6 and four_hours.title.endswith("2026-11-02 00:00–04:00 UTC")
    influencer = make_post(at=T0, text="want to buy the x9", intents=("purchase_intent",), author={"followers": 90_000})
    (alert,) = run_detectors([influencer], DetectorState(), CONFIG)[0]
    assert alert.severity == 4
    assert list(fold_alerts([alert], {}, {}, IncidentConfig(), T0).incidents) == [alert.dedup_key]
    no_digest = fold_alerts(alerts, {}, {}, IncidentConfig(digest_max_severity=0, budgets={"purchase_intent": 10}), T0)
    assert len(no_digest.incidents) == 6


def test_the_brands_own_accounts_raise_nothing_and_answer_questions():
    config = CONFIG.with_brand_accounts(["weibo:brand1"])
    official = dict(id="brand1", handle="Acme官方微博", followers=2_000_000, verified=True)
    own = [negative(T0, author=official, text="now offers no-questions-asked returns"),
           make_post(at=T0, author=official, text="want to buy? new x2 on sale", intents=("purchase_intent", "question"),
                     label="positive", score=0.8)]
    alerts, state = run_detectors(own, DetectorState(), config)
    assert alerts == [] and state.questions == {}
    question = make_post(at=T0, text="is there a warranty?", intents=("question",))
    reply = make_post(at=T0 + timedelta(minutes=5), kind="reply", text="yes", parent_id=question.event.event_id,
                      author=official)
    _, state = run_detectors([question, reply], DetectorState(), config)
    assert state.questions == {}


def test_lifecycle_moves_and_escalation_rules():
    (alert,) = run_detectors([negative(T0, author={"followers": 50_000})], DetectorState(), CONFIG)[0]
    incident = next(iter(fold_alerts([alert], {}, {}, IncidentConfig(), T0).incidents.values()))
    sla = {3: 60}
    assert not escalation_due(incident, T0 + timedelta(minutes=59), sla, 2)
    assert escalation_due(incident, T0 + timedelta(minutes=60), sla, 2)
    snoozed = lc.snooze(incident, until=T0 + timedelta(hours=2), by="a", now=T0)
    assert not escalation_due(snoozed, T0 + timedelta(minutes=90), sla, 2)
    acked = lc.acknowledge(lc.assign(incident, assignee="li", team="care", now=T0), by="li", now=T0)
    assert (acked.state, acked.assignee, acked.team, acked.version) == ("acknowledged", "li", "care", 3)
    assert not escalation_due(acked, T0 + timedelta(days=1), sla, 2)
    commented = lc.add_comment(acked, author="li", text="called the customer", now=T0)
    assert commented.comments[0].author == "li" and commented.comments[0].at == T0
    resolved = lc.resolve(commented, by="li", now=T0)
    with pytest.raises(InvalidTransition):
        lc.acknowledge(resolved, by="li", now=T0)
    with pytest.raises(InvalidTransition):
        lc.resolve(resolved, by="li", now=T0)


def test_spam_raises_nothing_and_counts_in_no_spike():
    """The same "加微信领取免费iPhone" from a hundred influential accounts, confidently negative: a burst
    of spam raises no alert (spam likelihood at or over ``spam_threshold``); the same posts without the
    spam score do alert."""
    spam = [negative(T0 + timedelta(seconds=5 * i), text="加微信 领取免费iPhone，名额有限！", spam=0.85,
                     author={"followers": 80_000}) for i in range(100)]
    question = make_post(at=T0, text="加微信领取？", intents=("question",), spam=0.85)
    alerts, state = run_detectors([*spam, question], DetectorState(), CONFIG)
    assert alerts == [] and state.questions == {}
    honest = [p.model_copy(update={"spam": 0.0}) for p in spam]
    alerts, _ = run_detectors(honest, DetectorState(), CONFIG)
    assert {"negative_post", "negative_spike"} <= {a.rule for a in alerts}
    lenient = CONFIG.model_copy(update={"spam_threshold": 1.0})
    assert run_detectors(spam[:1], DetectorState(), lenient)[0], "1.0: spam is not discounted"
