"""The alert step in the batch transaction (real SQLite) and the dispatcher: one incident per crisis,
replays count nothing twice, opportunities reach sales with a reply, severe incidents escalate, deliveries
retry and dead-letter."""

from __future__ import annotations

import random
import threading
from datetime import timedelta

from alert_builders import T0, calm_stream, make_post, negative

from alerts.config import AlertingConfig
from alerts.dispatch import Dispatcher
from alerts.dispatch_store import deliveries_of, delivery_dead_letters
from alerts.exceptions import DeliveryFailed
from alerts.incidents import acknowledge, snooze
from alerts.pipeline import process_posts
from alerts.repository import change_incident, incidents_due_for_escalation, list_incidents
from alerts.routing import RetryPolicy, Route, RoutingConfig, SseChannel, WebhookChannel

CONFIG = AlertingConfig()
WALL = T0 + timedelta(hours=2)


def _apply(storage, posts, replayed=(), batch=250):
    alerts = []
    for i in range(0, max(1, len(posts)), batch):
        with storage.session_factory() as session, session.begin():
            alerts += process_posts(posts[i:i + batch], replayed, config=CONFIG, now=WALL, session=session)
    return alerts


def _incidents(storage, **filters):
    with storage.session_factory() as session:
        return list_incidents(session=session, **filters)


class Recorder:
    """A sender that records deliveries and fails the first ``failures`` attempts per channel."""

    def __init__(self, failures: int = 0) -> None:
        self.failures, self.sent, self.attempts = failures, [], 0

    def __call__(self, channel, delivery, now):
        self.attempts += 1
        if self.attempts <= self.failures:
            raise DeliveryFailed("503 from test")
        self.sent.append(delivery)


ROUTING = RoutingConfig(
    channels={"pr-hook": WebhookChannel(url="http://127.0.0.1:9/pr", secret="s"),
              "sales-hook": WebhookChannel(url="http://127.0.0.1:9/sales", secret="s"),
              "oncall": WebhookChannel(url="http://127.0.0.1:9/oncall", secret="s"), "live": SseChannel()},
    routes=(Route(name="pr", team="pr", kinds=("crisis",), min_severity=3, channels=("pr-hook", "live")),
            Route(name="sales", team="sales", kinds=("opportunity",), rules=("purchase_intent",),
                  channels=("sales-hook",)),
            Route(name="escalation", team="duty-manager", min_severity=4, changes=("escalated",),
                  min_escalation_level=1, channels=("oncall",))),
    retry=RetryPolicy(max_attempts=3, base_seconds=1, max_seconds=4, jitter=0.2),
)


def _dispatcher(storage, sender, clock=lambda: WALL):
    return Dispatcher(storage.session_factory, ROUTING, clock=clock, sender=sender, rng=random.Random(1), workers=2)


def test_a_calm_stream_opens_no_incident(storage):
    assert _apply(storage, calm_stream(T0, 36)) == []
    assert _incidents(storage) == []


def test_a_crisis_forming_is_one_incident_stored_and_updated_as_it_grows(storage):
    _apply(storage, calm_stream(T0, 36))
    start = T0 + timedelta(hours=36)
    burst = [negative(start + timedelta(seconds=4 * i)) for i in range(300)]
    alerts = _apply(storage, burst, batch=40)

    (incident,) = _incidents(storage)
    assert incident.kind == "crisis" and incident.rule == "negative_spike" and incident.state == "open"
    assert incident.count == len(alerts) > 2 and incident.version == incident.count
    assert {a.incident_id for a in alerts} == {incident.incident_id}
    assert incident.evidence["scopes"]["brand:acme"]["count"] > 10
    assert incident.evidence["seed_posts"] and incident.evidence["top_spreaders"]


def test_replayed_events_move_no_state_and_republish_their_alerts_with_the_same_ids(storage):
    _apply(storage, calm_stream(T0, 36))
    burst = [negative(T0 + timedelta(hours=36, seconds=4 * i)) for i in range(60)]
    first = _apply(storage, burst, batch=60)
    (before,) = _incidents(storage)
    keys = {p.event.event_key for p in burst}
    again = _apply(storage, [], replayed=keys)
    (after,) = _incidents(storage)
    assert [a.alert_id for a in again] == [a.alert_id for a in first] and again
    assert after == before


def test_an_opportunity_reaches_the_sales_route_with_a_suggested_reply(storage):
    _apply(storage, [make_post(at=T0, text="where can I buy the acme x1?", intents=("purchase_intent",))])
    sender = Recorder()
    _dispatcher(storage, sender).run_once()
    (delivery,) = sender.sent
    assert (delivery.route, delivery.team, delivery.channel) == ("sales", "sales", "sales-hook")
    assert delivery.incident.suggested_reply is not None
    assert delivery.incident.suggested_reply.template_id == "purchase.en"
    assert delivery.idempotency_key == f"{delivery.incident.incident_id}:1:sales-hook"


def test_an_unacknowledged_severe_incident_escalates_and_an_acknowledged_one_does_not(storage):
    at = T0 + timedelta(minutes=1)
    _apply(storage, [negative(at, author={"followers": 3_000_000}, text="total scam, lawsuit coming"),
                     negative(at, author={"followers": 2_000_000, "id": "other"}, text="awful")])
    first, second = _incidents(storage)
    with storage.session_factory() as session, session.begin():
        change_incident(second.incident_id, lambda i: acknowledge(i, by="agent-7", now=WALL), session=session)
    now = [WALL]
    sender = Recorder()
    dispatcher = _dispatcher(storage, sender, clock=lambda: now[0])
    dispatcher.run_once()
    assert sorted(d.channel for d in sender.sent) == ["live", "live", "pr-hook", "pr-hook"]
    now[0] = WALL + timedelta(minutes=4)
    assert dispatcher.run_once().escalated == 0, "within the severity-4/5 SLA"
    now[0] = WALL + timedelta(minutes=16)
    assert dispatcher.run_once().escalated == 1
    escalated = [d for d in sender.sent if d.change == "escalated"]
    assert {d.incident.incident_id for d in escalated} == {first.incident_id}
    assert ("oncall", "duty-manager") in {(d.channel, d.team) for d in escalated}
    assert escalated[0].incident.escalation_level == 1
    assert dispatcher.run_once().escalated == 0, "the next level waits another SLA"


def test_the_escalation_scan_finds_overdue_incidents_behind_any_number_that_cannot_escalate(storage):
    at = T0 + timedelta(minutes=1)
    _apply(storage, [negative(at, author={"followers": 3_000_000, "id": f"star-{n}"}, text="awful") for n in range(3)])
    snoozed, other_snoozed, overdue = sorted(_incidents(storage), key=lambda i: i.incident_id)
    with storage.session_factory() as session, session.begin():
        for incident in (snoozed, other_snoozed):
            change_incident(incident.incident_id, lambda i: snooze(i, until=WALL + timedelta(hours=2), by="agent",
                                                                   now=WALL), session=session)
    with storage.session_factory() as session:
        due = incidents_due_for_escalation(WALL + timedelta(minutes=16), {4: 15}, 3, session=session, limit=1)
        not_yet = incidents_due_for_escalation(WALL + timedelta(minutes=14), {4: 15}, 3, session=session)
        no_sla = incidents_due_for_escalation(WALL + timedelta(days=1), {5: 5}, 3, session=session)
        top_level = incidents_due_for_escalation(WALL + timedelta(days=1), {4: 15}, 0, session=session)
    assert [i.incident_id for i in due] == [overdue.incident_id]
    assert (not_yet, no_sla, top_level) == ([], [], [])


class ScriptedSignal:
    """An outbox signal that never fires: each wait moves the fake clock on, the last one stops the loop."""

    def __init__(self, now: list, step: timedelta, waits: int, stop: threading.Event) -> None:
        self.now, self.step, self.left, self.stop, self.timeouts = now, step, waits, stop, []

    def wait(self, timeout: float) -> bool:
        self.timeouts.append(timeout)
        self.now[0] += self.step
        self.left -= 1
        if self.left == 0:
            self.stop.set()
        return False

    def close(self) -> None:
        pass


def test_the_run_loop_sleeps_on_the_outbox_signal_and_checks_slas_only_every_interval(storage):
    _apply(storage, [negative(T0 + timedelta(minutes=1), author={"followers": 3_000_000}, text="lawsuit coming")])
    now, stop = [WALL], threading.Event()
    signal = ScriptedSignal(now, timedelta(minutes=1), waits=21, stop=stop)
    scans = []

    class Counting(Dispatcher):
        def escalate_due(self) -> int:
            scans.append(self._clock())
            return super().escalate_due()

    sender = Recorder()
    dispatcher = Counting(storage.session_factory, ROUTING, clock=lambda: now[0], sender=sender, workers=1)
    try:
        dispatcher.run(stop, idle_seconds=0.5, signal=signal, escalate_every=timedelta(minutes=5))
    finally:
        dispatcher.close()
    assert set(signal.timeouts) == {0.5}
    assert [s - WALL for s in scans] == [timedelta(minutes=m) for m in (0, 5, 10, 15, 20)]
    escalated = [d for d in sender.sent if d.change == "escalated" and d.channel == "oncall"]
    assert [d.incident.escalated_at - WALL for d in escalated] == [timedelta(minutes=5), timedelta(minutes=10)], (
        "severity 5 (SLA 5 min): found by the scans at 5 and 10 min, then the maximum level")


def test_failed_deliveries_retry_with_backoff_then_succeed_and_survive_a_restart(storage):
    _apply(storage, [make_post(at=T0, text="where can I buy one?", intents=("purchase_intent",))])
    now = [WALL]
    sender = Recorder(failures=2)
    _dispatcher(storage, sender, clock=lambda: now[0]).run_once()
    assert sender.sent == []
    restarted = _dispatcher(storage, sender, clock=lambda: now[0])  # a new process: state is in the database
    assert restarted.run_once().delivered == 0, "not due before the backoff"
    for _ in range(3):
        now[0] += timedelta(seconds=10)
        restarted.run_once()
    assert len(sender.sent) == 1
    with storage.session_factory() as session:
        (row,) = deliveries_of(sender.sent[0].incident.incident_id, session=session)
    assert row["status"] == "delivered" and row["attempts"] == 3


def test_a_delivery_failing_every_attempt_is_dead_lettered_not_lost(storage):
    _apply(storage, [make_post(at=T0, text="where can I buy one?", intents=("purchase_intent",))])
    now = [WALL]
    dispatcher = _dispatcher(storage, Recorder(failures=100), clock=lambda: now[0])
    for _ in range(6):
        dispatcher.run_once()
        now[0] += timedelta(seconds=30)
    with storage.session_factory() as session:
        (letter,) = delivery_dead_letters(session=session)
    assert letter["channel"] == "sales-hook" and letter["attempts"] == 3 and "503" in letter["error"]


def test_replayed_history_is_not_pushed_to_chat_channels(storage):
    _apply(storage, [make_post(at=T0 - timedelta(days=30), text="where can I buy one?")])
    sender = Recorder()
    _dispatcher(storage, sender).run_once()
    assert sender.sent == []
