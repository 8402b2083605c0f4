"""Alert channels against real local servers: an HTTP server (http.server in a thread on 127.0.0.1) playing
a signed-webhook receiver, Slack, WeCom, DingTalk and Feishu robots, and a tiny SMTP server (socketserver),
driven by the real dispatcher over a SQLite outbox."""

from __future__ import annotations

import hashlib
import hmac
import json
import socketserver
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from alerts.channels import ChannelSender, Delivery, sign_webhook
from alerts.config import AlertingConfig
from alerts.contracts import Incident, ScoredPost
from alerts.dispatch import Dispatcher
from alerts.dispatch_store import delivery_dead_letters
from alerts.incidents import fold_alerts
from alerts.outbox_signal import PostgresOutboxListener
from alerts.pipeline import process_posts
from alerts.routing import (
    DingTalkChannel,
    EmailChannel,
    FeishuChannel,
    RetryPolicy,
    Route,
    RoutingConfig,
    SlackChannel,
    WebhookChannel,
    WeComChannel,
)
from alerts.state import DetectorState
from alerts.suite import run_detectors
from ingest.contracts import SocialEvent
from streams.storage import open_storage

pytestmark = pytest.mark.integration
SECRET = "s3cret"


class Receiver(BaseHTTPRequestHandler):
    """Records every POST; ``/flaky`` answers 503 twice, ``/wecom-error`` answers errcode 93000."""

    received: list[dict[str, Any]] = []
    flaky_left = 2

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append({"path": self.path, "headers": dict(self.headers), "body": body})
        if self.path.startswith("/flaky") and Receiver.flaky_left > 0:
            Receiver.flaky_left -= 1
            self.send_response(503)
            self.end_headers()
            return
        answer = {"errcode": 93000, "errmsg": "invalid webhook url"} if "error" in self.path else {
            "errcode": 0, "errmsg": "ok", "code": 0}
        payload = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


class SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP (RFC 5321) for smtplib: EHLO/HELO, MAIL, RCPT, DATA, QUIT."""

    messages: list[dict[str, Any]] = []

    def handle(self) -> None:
        self._reply("220 test ESMTP")
        envelope: dict[str, Any] = {"rcpt": []}
        while line := self.rfile.readline():
            command = line.decode().strip()
            verb = command[:4].upper()
            if verb in ("EHLO", "HELO"):
                self._reply("250 test")
            elif verb == "MAIL":
                envelope["from"] = command
                self._reply("250 OK")
            elif verb == "RCPT":
                envelope["rcpt"].append(command)
                self._reply("250 OK")
            elif verb == "DATA":
                self._reply("354 end with .")
                data = []
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data.append(chunk)
                SmtpHandler.messages.append({**envelope, "data": b"".join(data).decode()})
                self._reply("250 queued")
            elif verb == "QUIT":
                self._reply("221 bye")
                return
            else:
                self._reply("250 OK")

    def _reply(self, text: str) -> None:
        self.wfile.write(text.encode() + b"\r\n")


@pytest.fixture(scope="module")
def http_base() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def smtp_port() -> Iterator[int]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), SmtpHandler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


def _crisis_post(at: datetime) -> ScoredPost:
    event = SocialEvent.model_validate({
        "event_id": f"big-{at.timestamp()}", "platform": "weibo", "kind": "post", "occurred_at": at,
        "received_at": at, "author": {"id": "kol", "handle": "kol", "followers": 2_000_000}, "brand": "acme",
        "text": "acme 充电器起火了！要召回！", "source": "it"})
    return ScoredPost(customer_id="c-kol", event=event, sentiment_label="negative", sentiment_score=-0.9,
                      sentiment_confidence=0.95, topics=("safety_recall",), language="zh-Hans", author_influence=75)


def test_one_incident_reaches_every_channel_format_with_retries_signatures_and_dead_letters(
    tmp_path, http_base: str, smtp_port: int
) -> None:
    storage = open_storage(f"sqlite:///{tmp_path}/a.db", None)
    now = datetime.now(UTC)
    channels = {
        "hook": WebhookChannel(url=f"{http_base}/flaky/hook", secret=SECRET),
        "slack": SlackChannel(url=f"{http_base}/slack"),
        "wecom": WeComChannel(url=f"{http_base}/wecom?key=k"),
        "wecom-bad": WeComChannel(url=f"{http_base}/wecom-error?key=k"),
        "dingtalk": DingTalkChannel(url=f"{http_base}/dingtalk?access_token=t", secret="ding"),
        "feishu": FeishuChannel(url=f"{http_base}/feishu", secret="fei"),
        "mail": EmailChannel(host="127.0.0.1", port=smtp_port, sender="alerts@scrm.test",
                             recipients=("pr@acme.test",)),
    }
    routing = RoutingConfig(channels=channels, routes=(Route(name="pr", team="pr", channels=tuple(channels)),),
                            retry=RetryPolicy(max_attempts=3, base_seconds=0.01, max_seconds=0.05))
    with storage.session_factory() as session, session.begin():
        process_posts([_crisis_post(now)], [], config=AlertingConfig(), now=now, session=session)
    dispatcher = Dispatcher(storage.session_factory, routing)
    try:
        for _ in range(40):
            dispatcher.run_once()
            if dispatcher.stats.delivered == 6 and dispatcher.stats.dead == 1:
                break
            threading.Event().wait(0.03)
    finally:
        dispatcher.close()
    assert (dispatcher.stats.delivered, dispatcher.stats.dead) == (6, 1)

    by_path = {}
    for request in Receiver.received:
        by_path.setdefault(request["path"].split("?")[0], []).append(request)
    hook = by_path["/flaky/hook"]
    assert len(hook) == 3, "two 503s, then accepted"
    assert len({r["headers"]["Idempotency-Key"] for r in hook}) == 1
    last = hook[-1]
    expected = sign_webhook(SECRET, last["headers"]["X-Scrm-Timestamp"], last["body"])
    assert hmac.compare_digest(last["headers"]["X-Scrm-Signature"], expected)
    assert json.loads(last["body"])["incident"]["rule"] == "negative_post"

    slack = json.loads(by_path["/slack"][0]["body"])
    assert slack["text"].startswith("[CRISIS S5]") and slack["blocks"][0]["type"] == "header"
    wecom = json.loads(by_path["/wecom"][0]["body"])
    assert wecom["msgtype"] == "markdown" and "起火" in wecom["markdown"]["content"]
    ding = by_path["/dingtalk"][0]
    assert "timestamp=" in ding["path"] and "sign=" in ding["path"]
    assert json.loads(ding["body"])["markdown"]["title"].startswith("[CRISIS")
    feishu = json.loads(by_path["/feishu"][0]["body"])
    assert feishu["msg_type"] == "post" and feishu["sign"] and feishu["timestamp"]
    assert feishu["content"]["post"]["zh_cn"]["title"].startswith("[CRISIS")
    (mail,) = SmtpHandler.messages
    assert "pr@acme.test" in mail["rcpt"][0] and "Idempotency-Key:" in mail["data"]

    with storage.session_factory() as session:
        (letter,) = delivery_dead_letters(session=session)
    assert letter["channel"] == "wecom-bad" and "93000" in letter["error"] and letter["attempts"] == 3
    storage.close()


class KeepAliveReceiver(BaseHTTPRequestHandler):
    """An HTTP/1.1 webhook receiver that keeps connections open, records which client connection (port)
    each POST came on and what cookies it carried, and hands every caller a session cookie."""

    protocol_version = "HTTP/1.1"
    seen: list[tuple[int, str | None]] = []

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers["Content-Length"]))
        KeepAliveReceiver.seen.append((self.client_address[1], self.headers.get("Cookie")))
        self.send_response(200)
        self.send_header("Set-Cookie", "session=abc; Path=/")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_deliveries_to_one_endpoint_reuse_a_kept_alive_connection_and_carry_no_cookies() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), KeepAliveReceiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    channel = WebhookChannel(url=f"http://127.0.0.1:{server.server_address[1]}/hook", secret=SECRET)
    incident_post = _crisis_post(datetime.now(UTC))
    sender = ChannelSender()
    try:
        for version in range(3):
            delivery = Delivery(incident=_incident(incident_post, version + 1), change="opened", route="pr",
                                team="pr", channel="hook")
            sender.send(channel, delivery, datetime.now(UTC))
    finally:
        sender.close()
        server.shutdown()
    ports = {port for port, _ in KeepAliveReceiver.seen}
    assert len(KeepAliveReceiver.seen) == 3 and len(ports) == 1, "one TCP connection for three deliveries"
    assert all(cookie is None for _, cookie in KeepAliveReceiver.seen)


def _incident(post: ScoredPost, version: int) -> Incident:
    alerts, _ = run_detectors([post], DetectorState(), AlertingConfig())
    folded = fold_alerts(alerts[:1], {}, {}, AlertingConfig().incidents, post.event.occurred_at)
    (incident,) = folded.incidents.values()
    return incident.model_copy(update={"version": version})


def test_signature_is_hmac_sha256_over_timestamp_and_body() -> None:
    body = b'{"a":1}'
    assert sign_webhook("k", "1700000000", body) == "v1=" + hmac.new(
        b"k", b"1700000000." + body, hashlib.sha256).hexdigest()


def test_on_postgresql_a_growing_crisis_is_one_incident_and_its_deliveries_are_routed(
    fresh_database_url: str, http_base: str
) -> None:
    storage = open_storage(fresh_database_url, None)
    now = datetime.now(UTC)
    posts = [_crisis_post(now.replace(microsecond=i)) for i in range(3)]
    for post in posts:  # three batches, three transactions: upserts, advisory locks and the open-key index
        with storage.session_factory() as session, session.begin():
            process_posts([post], [], config=AlertingConfig(), now=now, session=session)
    with storage.session_factory() as session, session.begin():  # a replay re-publishes, counts nothing
        again = process_posts([], [posts[0].event.event_key], config=AlertingConfig(), now=now,
                              session=session)
    assert [a.event_id for a in again] == [posts[0].event.event_id]
    routing = RoutingConfig(channels={"slack": SlackChannel(url=f"{http_base}/pg-slack")},
                            routes=(Route(name="pr", team="pr", channels=("slack",)),))
    dispatcher = Dispatcher(storage.session_factory, routing)
    try:
        dispatcher.run_once()
    finally:
        dispatcher.close()
    from alerts.repository import list_incidents

    with storage.session_factory() as session:
        (incident,) = list_incidents(session=session)
    assert incident.count == 3 and incident.version == 3
    assert dispatcher.stats.delivered == 1, "only the 'opened' version matches the default changes"
    storage.close()


def test_a_listening_dispatcher_wakes_when_new_incidents_commit_and_not_for_rolled_back_ones(
    fresh_database_url: str,
) -> None:
    storage = open_storage(fresh_database_url, None)
    listener = PostgresOutboxListener(fresh_database_url)
    now = datetime.now(UTC)
    try:
        assert not listener.wait(0.05), "nothing enqueued yet"
        with storage.session_factory() as session, session.begin():
            process_posts([_crisis_post(now)], [], config=AlertingConfig(), now=now, session=session)
            assert not listener.wait(0.05), "PostgreSQL delivers the notification only at commit"
        assert listener.wait(10.0)
        with storage.session_factory() as session, session.begin():
            process_posts([_crisis_post(now.replace(microsecond=7))], [], config=AlertingConfig(), now=now,
                          session=session)
            session.rollback()
        assert not listener.wait(0.2), "a rolled-back transaction enqueued nothing"
    finally:
        listener.close()
        storage.close()


def test_a_segment_feed_reaches_a_signed_webhook_from_postgresql(fresh_database_url: str, http_base: str) -> None:
    """The dispatcher reads ``segment_changes`` as data on PostgreSQL (bound lists, timestamps with time
    zone) and posts them signed, in order, to a real HTTP receiver; a 503 is retried with the same batch."""
    from alerts.routing import SegmentFeed
    from profile_store.segments.store import SegmentChangeRow

    storage = open_storage(fresh_database_url, None)
    at = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    with storage.session_factory.begin() as session:
        session.add_all([
            SegmentChangeRow(segment="fans", customer_id="c-1", change="enter", at=at, cause="weibo:a/1"),
            SegmentChangeRow(segment="detractors", customer_id="c-2", change="enter", at=at, cause="weibo:b/1"),
            SegmentChangeRow(segment="fans", customer_id="c-1", change="leave", at=at, cause="sweep:1"),
        ])
    Receiver.flaky_left = 1
    routing = RoutingConfig(channels={"crm": WebhookChannel(url=f"{http_base}/flaky/feed", secret=SECRET)},
                            segment_feeds=(SegmentFeed(name="crm-fans", channel="crm", segments=("fans",)),),
                            retry=RetryPolicy(base_seconds=0.01, max_seconds=0.02))
    before = len(Receiver.received)
    dispatcher = Dispatcher(storage.session_factory, routing)
    try:
        deadline = time.monotonic() + 60
        while not dispatcher.run_once().segment_changes and time.monotonic() < deadline:
            threading.Event().wait(0.02)  # until the retry's backoff (on the wall clock) has passed
    finally:
        dispatcher.close()
        storage.close()
    posts = [r for r in Receiver.received[before:] if r["path"] == "/flaky/feed"]
    assert len(posts) == 2 and posts[0]["body"] == posts[1]["body"], "the refused batch, sent again unchanged"
    accepted = posts[-1]
    expected = sign_webhook(SECRET, accepted["headers"]["X-Scrm-Timestamp"], accepted["body"])
    assert hmac.compare_digest(accepted["headers"]["X-Scrm-Signature"], expected)
    body = json.loads(accepted["body"])
    assert [(c["segment"], c["customer_id"], c["change"], c["cause"]) for c in body["changes"]] == [
        ("fans", "c-1", "enter", "weibo:a/1"), ("fans", "c-1", "leave", "sweep:1")]
    assert datetime.fromisoformat(body["changes"][0]["at"]) == at
    ids = [c["change_id"] for c in body["changes"]]
    assert accepted["headers"]["Idempotency-Key"] == f"segments:crm-fans:{ids[0]}-{ids[1]}"
