"""Negative-volume spike on event time: calm is quiet, a crisis is one growing incident, daily cycles are
learnt, state round-trips through JSON and replay gives the same alerts."""

from __future__ import annotations

from datetime import timedelta

from alert_builders import T0, calm_stream, negative

from alerts.config import AlertingConfig, SpikeConfig
from alerts.contracts import Alert
from alerts.incidents import fold_alerts
from alerts.state import DetectorState
from alerts.suite import run_detectors

CONFIG = AlertingConfig()


def _run(posts, state=None, config=CONFIG, batch=200) -> tuple[list[Alert], DetectorState]:
    state = state or DetectorState()
    alerts: list[Alert] = []
    for i in range(0, len(posts), batch):
        raised, state = run_detectors(posts[i:i + batch], state, config)
        # state goes through JSON between batches, as it does through the database
        state = DetectorState.model_validate_json(state.model_dump_json())
        alerts.extend(raised)
    return alerts, state


def _burst(start, n, minutes=10):
    return [negative(start + timedelta(seconds=minutes * 60 * i / n), topics=("product_quality",))
            for i in range(n)]


def test_a_calm_stream_raises_no_alert():
    alerts, state = _run(calm_stream(T0, 72))
    assert alerts == []
    assert state.scopes["brand:acme"].slots["all"].n > 100


def test_a_crisis_forming_is_one_incident_updated_as_it_grows():
    _, state = _run(calm_stream(T0, 48))
    crisis_start = T0 + timedelta(hours=48, minutes=1)
    crisis = _burst(crisis_start, 30) + _burst(crisis_start + timedelta(minutes=10), 120)
    alerts, _ = _run(crisis, state)

    assert alerts and {a.rule for a in alerts} == {"negative_spike"}
    assert {a.dedup_key for a in alerts} == {"crisis:brand:acme"}
    first = alerts[0]
    numbers = first.evidence["scopes"]["brand:acme"]
    assert numbers["count"] >= numbers["threshold"] >= 10
    assert numbers["baseline"] in ("0", "all") and numbers["baseline_mean"] < 5
    assert set(first.evidence["scopes"]) >= {"brand:acme", "platform:weibo"}
    assert "topic:product_quality" in alerts[-1].evidence["scopes"], "a new topic fires past its cold-start count"
    assert len(first.evidence["seed_posts"]) == 5 and first.evidence["top_spreaders"]
    assert len(alerts) < 15, "fires on growth steps, not on every post"

    folded = fold_alerts(alerts, {}, {}, CONFIG.incidents, crisis_start)
    (incident,) = folded.incidents.values()
    assert incident.count == len(alerts) and incident.version == len(alerts)
    assert incident.severity > first.severity, "severity rises as the crisis grows"
    assert incident.suggested_reply is not None and incident.suggested_reply.template_id == "crisis.en"


def test_the_baseline_is_per_hour_of_day_so_a_busy_evening_is_normal_but_the_same_volume_at_night_is_not():
    history = calm_stream(T0, 24 * 4, per_hour=30, negatives_per_hour=2, evening_factor=10.0)
    _, state = _run(history)
    evening = T0 + timedelta(days=4, hours=19)
    normal_evening = calm_stream(evening, 1, per_hour=30, negatives_per_hour=2, evening_factor=10.0)
    alerts, _ = _run(normal_evening, state)
    assert alerts == []
    night = T0 + timedelta(days=4, hours=3)
    same_volume_at_night = [negative(night + timedelta(seconds=20 * i)) for i in range(20)]
    alerts, _ = _run(same_volume_at_night, state)
    assert alerts and alerts[0].evidence["scopes"]["brand:acme"]["baseline"] == "3"


def test_without_seasonality_the_all_hours_baseline_is_used():
    config = AlertingConfig(spike=SpikeConfig(seasonal=False))
    _, state = _run(calm_stream(T0, 24), config=config)
    alerts, _ = _run(_burst(T0 + timedelta(hours=24), 60), state, config)
    assert alerts and alerts[0].evidence["scopes"]["brand:acme"]["baseline"] == "all"


def test_replay_with_other_batch_boundaries_gives_the_same_alerts_and_state():
    posts = calm_stream(T0, 30) + _burst(T0 + timedelta(hours=30), 80)
    a1, s1 = _run(posts, batch=7)
    a2, s2 = _run(posts, batch=500)
    assert [a.alert_id for a in a1] == [a.alert_id for a in a2] and a1
    assert s1 == s2


def test_late_posts_do_not_reopen_a_closed_window():
    _, state = _run([negative(T0), negative(T0 + timedelta(minutes=30))])
    alerts, after = _run([negative(T0 + timedelta(minutes=1))], state)
    assert alerts == [] and after.scopes["brand:acme"].late == 1
    assert after.scopes["brand:acme"].count == state.scopes["brand:acme"].count
