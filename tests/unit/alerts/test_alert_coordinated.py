"""Coordinated accounts (水军): near-duplicates from many fresh, small accounts in a burst are one
``coordinated`` incident growing with later copies; different complaints, three accounts, or copies hours
apart are not; the cluster's posts count in no spike; partition interleaving changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from alert_builders import T0, calm_stream, make_post, negative
from datasketch import MinHash
from test_alert_watermark import _interleaved, _run

from alerts.config import AlertingConfig, CoordinatedConfig, SpikeConfig
from alerts.coordinated import decode, encode, normalise, signature
from alerts.pipeline import process_posts
from alerts.repository import list_incidents
from alerts.state import DetectorState
from alerts.suite import run_detectors

CONFIG = AlertingConfig(spike=SpikeConfig(cold_start_count=6, min_count=5, min_baseline_windows=2))
WALL = T0 + timedelta(days=1)
SPAM = "加微信 {code} 领取免费iPhone，名额有限，先到先得！"


def _fresh(n: int, at, text: str, **kw):
    """A post by a brand-new account with 12 followers."""
    return make_post(at=at, text=text, first_seen=None, author={"id": f"bot{n}", "followers": 12}, **kw)


def _spam_wave(accounts: int, start=T0, every=timedelta(seconds=90)):
    return [_fresh(n, start + every * n, SPAM.format(code=f"v{n}x{n * 7}"), spam=0.9) for n in range(accounts)]


def _detect(posts, config=CONFIG, batch=7):
    """Every detector over ``posts`` in batches, state through JSON between them as through the database."""
    state, alerts = DetectorState(), []
    for i in range(0, len(posts), batch):
        raised, state = run_detectors(posts[i:i + batch], state, config)
        state = DetectorState.model_validate_json(state.model_dump_json())
        alerts.extend(raised)
    return alerts, state


def _stored_incidents(storage, posts, batch=4):
    for i in range(0, len(posts), batch):
        with storage.session_factory() as session, session.begin():
            process_posts(posts[i:i + batch], (), config=CONFIG, now=WALL, session=session)
    with storage.session_factory() as session:
        return list_incidents(session=session)


def test_codes_urls_handles_and_emoji_do_not_hide_a_copy():
    a, b = "加微信 abc123 领取免费iPhone 🎁 https://t.cn/A1 @bob", "加微信 xyz789 领取免费iPhone http://x.y/z @alice"
    assert normalise(a) == normalise(b) == "加微信 # 领取免费iphone ~ @"
    config = CoordinatedConfig()
    sa, sb = signature(a, config), signature("加微信 xyz789 领取免费iPhone 的机会就在这里", config)
    assert sa is not None and sb is not None and (decode(encode(sa)) == sa).all()
    ours = float((sa == sb).mean())
    theirs = MinHash(num_perm=64, hashvalues=sa).jaccard(MinHash(num_perm=64, hashvalues=sb))
    assert ours == theirs and 0.2 < ours < 0.9, "the estimator is MinHash.jaccard's"
    assert signature("好评！", config) is None, "short texts are not compared"


def test_six_fresh_accounts_posting_one_spam_text_open_one_coordinated_incident_that_grows(storage):
    wave = _spam_wave(6)  # six accounts within 7.5 minutes
    incidents = _stored_incidents(storage, wave)
    (incident,) = incidents
    assert incident.kind == "coordinated" and incident.rule == "coordinated" and incident.severity == 3
    evidence = incident.evidence["latest"]["coordinated"]
    assert evidence["account_count"] == 6 and len(evidence["accounts"]) == 6
    assert set(evidence["accounts"]) == {p.event.identity_key for p in wave}
    assert evidence["count"] == 6 and evidence["similarity"] >= 0.7 and evidence["span_seconds"] == 360
    assert evidence["post"]["coordinated"] is True and evidence["sample_text"].startswith("加微信")
    assert evidence["new_accounts"] == 1.0 and evidence["low_followers"] == 1.0 and evidence["mean_followers"] == 12
    opened_with = incident.count

    again = [_fresh(n, T0 + timedelta(minutes=12, seconds=20 * n), SPAM.format(code=f"r{n}"), spam=0.9)
             for n in range(6)]  # the same accounts copy it again
    (grown,) = _stored_incidents(storage, again)
    assert grown.incident_id == incident.incident_id and grown.count > opened_with
    assert grown.evidence["latest"]["coordinated"]["count"] >= 9


def test_six_accounts_with_different_complaints_are_no_cluster_and_still_make_a_spike():
    complaints = ["快递五天了还没到，你们到底发没发货？", "屏幕出现亮线，质量问题太明显了吧",
                  "客服一直机器人回复，问了三次都没人管", "刚买完就降价两百，能不能保价？",
                  "充不进电，才买了两个月，品控呢？", "申请退货一周了，客服还在踢皮球"]
    posts = [_fresh(n, T0 + timedelta(minutes=n), text, label="negative", score=-0.8)
             for n, text in enumerate(complaints)]
    alerts, _ = _detect(posts)
    assert "coordinated" not in {a.rule for a in alerts}
    assert "negative_spike" in {a.rule for a in alerts}
    off = CONFIG.model_copy(update={"coordinated": CONFIG.coordinated.model_copy(update={"enabled": False})})
    assert [a.alert_id for a in alerts] == [a.alert_id for a in _detect(posts, off)[0]]


@pytest.mark.parametrize(("accounts", "every"), [(3, timedelta(seconds=30)), (6, timedelta(hours=2))],
                         ids=["three accounts", "two hours apart"])
def test_too_few_accounts_or_copies_hours_apart_are_no_cluster(accounts, every):
    posts = _spam_wave(accounts, every=every)
    posts += [p.model_copy(update={"event": p.event.model_copy(update={
        "event_id": p.event.event_id + "-again", "occurred_at": p.event.occurred_at + timedelta(minutes=3)})})
        for p in posts]  # each account posts it twice
    alerts, state = _detect(posts)
    assert alerts == []
    assert state.coordinated["acme"].clusters == {}


def test_established_accounts_sharing_a_text_are_no_cluster():
    """Near-duplicates alone never make a cluster: the same sentence from known, followed accounts,
    without spam, is people agreeing."""
    posts = [make_post(at=T0 + timedelta(seconds=20 * n), text="看到Acme发布会了，大家怎么看？",
                       author={"id": f"fan{n}", "followers": 800}) for n in range(12)]
    alerts, _ = _detect(posts)
    assert alerts == []


def test_the_clusters_posts_count_in_no_negative_spike():
    """Twenty fresh accounts post one complaint within two minutes: without the detector that is a spike;
    with it, one coordinated incident, and the spike's window counts only the posts before the cluster
    formed (``min_accounts - 1``)."""
    posts = [_fresh(n, T0 + timedelta(seconds=6 * n), "Acme 的客服就是垃圾，大家千万别买他们家的手机！",
                    label="negative", score=-0.8) for n in range(20)]
    off = CONFIG.model_copy(update={"coordinated": CONFIG.coordinated.model_copy(update={"enabled": False})})
    assert "negative_spike" in {a.rule for a in _detect(posts, off)[0]}
    alerts, state = _detect(posts)
    assert {a.rule for a in alerts} == {"coordinated"}
    assert {a.dedup_key for a in alerts} == {alerts[0].dedup_key}
    assert state.scopes["brand:acme"].count == CONFIG.coordinated.min_accounts - 1


def test_interleaving_sources_gives_the_same_coordinated_incidents(tmp_path):
    posts = calm_stream(T0, 2, per_hour=40, negatives_per_hour=2)
    wave = [_fresh(n, T0 + timedelta(minutes=50, seconds=25 * n), SPAM.format(code=f"k{n}"), spam=0.9)
            for n in range(9)]
    wave += [negative(T0 + timedelta(minutes=52, seconds=30 * n), topics=("delivery_logistics",))
             for n in range(12)]
    posts = sorted([*posts, *wave], key=lambda p: p.event.occurred_at_utc)
    for n, post in enumerate(posts):  # sources split authors by id parity: give the bots numeric ids
        if post.event.author.id.startswith("bot"):
            posts[n] = post.model_copy(update={"event": post.event.model_copy(update={
                "author": post.event.author.model_copy(update={"id": f"u{9000 + n}"})})})
    ordered = [(posts[i:i + 25], {"0/0": posts[min(i + 24, len(posts) - 1)].event.occurred_at_utc})
               for i in range(0, len(posts), 25)]
    incidents, alerts, _ = _run(tmp_path / "ordered.db", ordered, positions=1, config=CONFIG)
    assert sum(rule == "coordinated" for rule, _, _ in alerts.values()) >= 2
    assert sum(key.startswith("coordinated:") for key, _, _, _ in incidents.values()) == 1
    for seed in (1, 2, 3):
        assert _run(tmp_path / f"seed-{seed}.db", _interleaved(posts, seed), positions=2,
                    config=CONFIG)[:2] == (incidents, alerts)
