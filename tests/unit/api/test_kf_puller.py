"""The 微信客服 pull behind a WeCom callback: the receiver answers at once, the puller fetches from the
stored cursor, makes the events durable, and only then moves the cursor; a failed pull keeps it."""

from __future__ import annotations

from datetime import UTC, datetime

from api.connector_health import ConnectorHealth
from api.pulls import KfPuller
from ingest.adapters.base import Pull
from ingest.adapters.wecom import KF_SYNC_MSG
from ingest.connectors import Connector, parse_connectors
from ingest.contracts import SocialEvent
from ingest.deadletter import DeadLetter
from ingest.exceptions import IntakeUnavailable
from ingest.polling.cursors import kf_endpoint, load_cursor
from ingest.webhooks.wecom_kf import KfSync

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CONNECTORS = """
[connectors.acme-kf]
platform = "wecom"
brand = "acme"
corp_id = "ww0987654321fedcba"
token = "acmeToken2026"
encoding_aes_key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
secret = "kf-secret"
"""
PULL = Pull(api=KF_SYNC_MSG, params={"token": "cb-token", "open_kfid": "wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q"})


def _message(msgid: str) -> dict:
    return {"msgid": msgid, "open_kfid": PULL.params["open_kfid"], "external_userid": "wmAJ2GCAAAme1XQRC",
            "send_time": 1764579600, "origin": 3, "msgtype": "text", "text": {"content": "你好"}}


class FakeKf:
    """Answers sync_kf from a script and records the cursors it was asked from."""

    def __init__(self, *answers: KfSync | Exception) -> None:
        self.answers = list(answers)
        self.cursors: list[str | None] = []

    def sync_kf(self, pull: Pull, *, cursor: str | None) -> KfSync:
        self.cursors.append(cursor)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def close(self) -> None:
        pass


class ListSink:
    def __init__(self, fail: bool = False) -> None:
        self.records: list[SocialEvent | DeadLetter] = []
        self.fail = fail

    def accept(self, records):
        if self.fail:
            raise IntakeUnavailable("journal down")
        self.records.extend(records)


def _setup(storage, client: FakeKf, sink: ListSink) -> tuple[KfPuller, Connector, ConnectorHealth]:
    health = ConnectorHealth()
    puller = KfPuller(sink=sink, session_factory=storage.session_factory, health=health, clock=lambda: NOW,
                      client_for=lambda config: client)
    return puller, parse_connectors(CONNECTORS, {})["acme-kf"], health


def _cursor(storage) -> str | None:
    with storage.session_factory() as session:
        stored = load_cursor("acme-kf", kf_endpoint(PULL.params["open_kfid"]), session=session)
        return None if stored is None else stored.watermark


def test_pulled_messages_are_made_durable_then_the_cursor_moves_and_the_next_pull_starts_there(storage):
    client = FakeKf(KfSync((_message("m1"), _message("m2")), "c-1", has_more=False),
                    KfSync((_message("m3"),), "c-2", has_more=False))
    sink = ListSink()
    puller, connector, health = _setup(storage, client, sink)

    puller.submit(connector, PULL)
    assert puller.run_pending() == 1
    assert [r.event_id for r in sink.records if isinstance(r, SocialEvent)] == ["m1", "m2"]
    assert _cursor(storage) == "c-1"

    puller.submit(connector, PULL)
    puller.run_pending()
    assert client.cursors == [None, "c-1"] and _cursor(storage) == "c-2"
    assert health.report("acme-kf", NOW).events == 3


def test_more_to_fetch_queues_the_pull_again(storage):
    client = FakeKf(KfSync((_message("m1"),), "c-1", has_more=True), KfSync((), "c-2", has_more=False))
    puller, connector, _ = _setup(storage, client, ListSink())
    puller.submit(connector, PULL)
    assert puller.run_pending() == 2 and _cursor(storage) == "c-2"


def test_when_the_intake_fails_the_cursor_stays_and_the_failure_is_counted(storage):
    client = FakeKf(KfSync((_message("m1"),), "c-1", has_more=False))
    puller, connector, health = _setup(storage, client, ListSink(fail=True))
    puller.submit(connector, PULL)
    puller.run_pending()

    assert _cursor(storage) is None
    report = health.report("acme-kf", NOW)
    assert report.errors == 1 and "journal down" in (report.last_error or "")
