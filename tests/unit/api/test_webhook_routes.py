"""The webhook receivers and the generic ingest route, through HTTP (FastAPI TestClient) on the embedded
runtime with its intake journal: signed deliveries become profiles, refused ones store nothing, unreadable
signed ones become dead letters with their original bytes and are answered so the platform stops, and a
retried delivery counts once. Signatures are built here as the platforms document them (HMAC-SHA256 of
the body for Meta; the WeChat SHA-1 signature and AES envelope through ``ingest.webhooks.wechat_crypto``)."""

from __future__ import annotations

import hashlib
import hmac
import json
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import ApiServices, create_app
from enrichment.lexicon import LexiconEnricher
from ingest.adapters.base import Pull
from ingest.connectors import Connector, parse_connectors
from ingest.deadletter import DeadLetter
from ingest.deadletter_store import list_dead_letters
from ingest.webhooks.wechat_crypto import aes_key, encrypt, signature
from profile_store.repository import find_profile_by_identity
from streams.config import PipelineConfig
from streams.intake_journal import count_journalled
from streams.runtimes.embedded import EmbeddedRuntime
from streams.runtimes.journal import JournalSink
from streams.storage import Storage

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
APP_SECRET = "meta-app-secret"
VERIFY_TOKEN = "meta-verify-token"
WECHAT_TOKEN = "wechatToken2026"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP_ID = "wx1234567890abcdef"
CORP_ID = "ww0987654321fedcba"
X_BEARER = "x-bearer-token"
INGEST_KEY, AGENT_KEY = "ingest-key", "agent-key"
CONNECTORS = textwrap.dedent(f"""
    [connectors.acme-meta]
    platform = "meta"
    brand = "acme"
    app_secret = "{APP_SECRET}"
    verify_token = "{VERIFY_TOKEN}"

    [connectors.acme-wecom]
    platform = "wecom"
    brand = "acme"
    corp_id = "{CORP_ID}"
    token = "{WECHAT_TOKEN}"
    encoding_aes_key = "{AES_KEY}"
    secret = "kf-secret"

    [connectors.acme-wechat]
    platform = "wechat"
    brand = "acme"
    token = "{WECHAT_TOKEN}"
    app_id = "{APP_ID}"
    encoding_aes_key = "{AES_KEY}"

    [connectors.acme-x]
    platform = "x"
    brand = "acme"
    bearer_token = "{X_BEARER}"
    query = "acme"
""")


@dataclass
class Platform:
    """The app on a runtime; ``settle`` runs the pipeline until everything accepted is handled."""

    client: TestClient
    runtime: EmbeddedRuntime
    storage: Storage
    pulls: list[tuple[str, Pull]]

    def settle(self) -> None:
        self.runtime.drain()

    def profile(self, identity_key: str):
        with self.storage.session_factory() as session:
            return find_profile_by_identity(identity_key, session=session)

    def dead_letters(self) -> list[DeadLetter]:
        with self.storage.session_factory() as session:
            return list_dead_letters(session=session)

    def journalled(self) -> int:
        with self.storage.session_factory() as session:
            return count_journalled(session=session)


@pytest.fixture
def platform(storage: Storage) -> Iterator[Platform]:
    runtime = EmbeddedRuntime(config=PipelineConfig(batch_size=16), enricher=LexiconEnricher(), storage=storage)
    pulls: list[tuple[str, Pull]] = []

    class RecordingPulls:
        def submit(self, connector: Connector, pull: Pull) -> None:
            pulls.append((connector.name, pull))
    services = ApiServices(
        session_factory=storage.session_factory,
        api_keys={INGEST_KEY: "ingest", AGENT_KEY: "agent"},
        enricher=LexiconEnricher(),
        submit_links=runtime.submit_links,
        intake=JournalSink(runtime, storage.session_factory),
        connectors=parse_connectors(CONNECTORS, {}),
        pulls=RecordingPulls(),
        clock=lambda: NOW,
        runtime_name="embedded",
    )
    with TestClient(create_app(services)) as client:
        yield Platform(client, runtime, storage, pulls)


# --- Meta ------------------------------------------------------------------------------------------------

def _comment(comment_id: str, author: str, text: str) -> dict[str, Any]:
    return {"field": "feed", "value": {"from": {"id": author, "name": "Someone"}, "item": "comment",
                                       "comment_id": comment_id, "post_id": "111_222", "parent_id": "111_222",
                                       "verb": "add", "created_time": 1764579600, "message": text}}


META_DELIVERY = {"object": "page", "entry": [
    {"id": "111", "time": 1764579600, "changes": [_comment("111_1", "fb-ann", "Where can I buy this?"),
                                                  _comment("111_2", "fb-ben", "Love it")]},
    {"id": "111", "time": 1764579601, "changes": [_comment("111_3", "fb-ann", "Still waiting for an answer")]},
]}


def _meta_post(platform: Platform, body: bytes, *, secret: str = APP_SECRET):
    mac = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return platform.client.post("/v1/ingest/webhooks/acme-meta", content=body, headers={
        "X-Hub-Signature-256": f"sha256={mac}", "Content-Type": "application/json", "User-Agent": "facebookplatform/1.0"})


def test_a_signed_meta_delivery_with_several_entries_and_changes_becomes_profiles(platform):
    answer = _meta_post(platform, json.dumps(META_DELIVERY).encode())
    assert answer.status_code == 200
    assert platform.journalled() == 3  # durable before the answer

    platform.settle()
    ann, ben = platform.profile("facebook:fb-ann"), platform.profile("facebook:fb-ben")
    assert ann is not None and ann.event_count == 2
    assert ben is not None and ben.event_count == 1
    assert platform.journalled() == 0


def test_a_retried_meta_delivery_counts_once(platform):
    body = json.dumps(META_DELIVERY).encode()
    assert _meta_post(platform, body).status_code == 200
    platform.settle()
    assert _meta_post(platform, body).status_code == 200  # Meta retries when it did not see the 200
    platform.settle()

    assert platform.profile("facebook:fb-ann").event_count == 2


def test_a_bad_signature_is_refused_with_401_and_nothing_is_stored(platform):
    answer = _meta_post(platform, json.dumps(META_DELIVERY).encode(), secret="not-the-app-secret")
    assert answer.status_code == 401
    assert platform.journalled() == 0
    platform.settle()
    assert platform.profile("facebook:fb-ann") is None and platform.dead_letters() == []


def test_a_malformed_signed_body_is_a_dead_letter_with_its_original_bytes_and_is_answered_200(platform):
    body = b'{"object": "page", "entry": [ truncated'
    answer = _meta_post(platform, body)
    assert answer.status_code == 200
    platform.settle()

    [letter] = platform.dead_letters()
    assert letter.original == body and letter.stage == "webhook" and letter.source_topic == "webhook:acme-meta"
    assert "JSON" in letter.error
    assert letter.headers is not None and set(letter.headers) == {"content-type", "user-agent",
                                                                  "x-hub-signature-256"}


def test_the_meta_handshake_answers_the_challenge_only_for_the_verify_token(platform):
    query = {"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": VERIFY_TOKEN}
    answer = platform.client.get("/v1/ingest/webhooks/acme-meta", params=query)
    assert (answer.status_code, answer.text) == (200, "1158201444")
    refused = platform.client.get("/v1/ingest/webhooks/acme-meta", params={**query, "hub.verify_token": "guess"})
    assert refused.status_code == 403


def test_an_unknown_connector_is_404_and_an_oversized_body_is_413(platform):
    assert platform.client.post("/v1/ingest/webhooks/nobody", content=b"{}").status_code == 404
    assert _meta_post(platform, b"x" * (1024 * 1024 + 1)).status_code == 413
    assert platform.journalled() == 0


# --- WeChat Official Account ------------------------------------------------------------------------------

def _wechat_query(nonce: str = "1320562132") -> dict[str, str]:
    timestamp = str(int(NOW.timestamp()) - 2)
    return {"signature": signature(WECHAT_TOKEN, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}


def test_the_wechat_verification_get_answers_the_echostr(platform):
    answer = platform.client.get("/v1/ingest/webhooks/acme-wechat",
                                 params={**_wechat_query(), "echostr": "5837397520"})
    assert (answer.status_code, answer.text) == (200, "5837397520")
    wrong = {**_wechat_query(), "echostr": "5837397520", "signature": "0" * 40}
    assert platform.client.get("/v1/ingest/webhooks/acme-wechat", params=wrong).status_code == 401


def test_an_encrypted_wechat_message_becomes_a_profile_and_is_answered_success(platform):
    xml = ("<xml><ToUserName><![CDATA[gh_acme]]></ToUserName><FromUserName><![CDATA[oUser42]]></FromUserName>"
           "<CreateTime>1764579600</CreateTime><MsgType><![CDATA[text]]></MsgType>"
           "<Content><![CDATA[何时发货？]]></Content><MsgId>23456789012345678</MsgId></xml>")
    ciphertext = encrypt(xml.encode(), key=aes_key(AES_KEY), receiver_id=APP_ID, random16=b"0123456789abcdef")
    query = _wechat_query()
    query |= {"encrypt_type": "aes", "openid": "oUser42",
              "msg_signature": signature(WECHAT_TOKEN, query["timestamp"], query["nonce"], ciphertext)}
    body = f"<xml><ToUserName><![CDATA[gh_acme]]></ToUserName><Encrypt><![CDATA[{ciphertext}]]></Encrypt></xml>"
    answer = platform.client.post("/v1/ingest/webhooks/acme-wechat", params=query, content=body.encode(),
                                  headers={"Content-Type": "text/xml"})
    assert (answer.status_code, answer.text) == (200, "success")
    platform.settle()
    assert platform.profile("wechat:oUser42") is not None


def _sealed_post(platform: Platform, connector: str, xml: str, receiver_id: str, *, wechat: bool):
    ciphertext = encrypt(xml.encode(), key=aes_key(AES_KEY), receiver_id=receiver_id, random16=b"0123456789abcdef")
    query = _wechat_query()
    query["msg_signature"] = signature(WECHAT_TOKEN, query["timestamp"], query["nonce"], ciphertext)
    if wechat:
        query |= {"encrypt_type": "aes", "openid": "oUser42"}
    else:
        del query["signature"]
    body = f"<xml><ToUserName><![CDATA[x]]></ToUserName><Encrypt><![CDATA[{ciphertext}]]></Encrypt></xml>"
    return platform.client.post(f"/v1/ingest/webhooks/{connector}", params=query, content=body.encode(),
                                headers={"Content-Type": "text/xml"})


def test_a_signed_wechat_push_that_decrypts_to_garbage_is_dead_lettered_and_answered_success(platform):
    answer = _sealed_post(platform, "acme-wechat", "<xml><MsgType>text", APP_ID, wechat=True)
    assert (answer.status_code, answer.text) == (200, "success")
    platform.settle()
    [letter] = platform.dead_letters()
    assert letter.source_topic == "webhook:acme-wechat" and letter.original.startswith(b"<xml><ToUserName>")


def test_a_wecom_kf_callback_is_answered_at_once_and_its_pull_handed_off(platform):
    xml = ("<xml><ToUserName><![CDATA[ww0987654321fedcba]]></ToUserName><CreateTime>1764579600</CreateTime>"
           "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]></Event>"
           "<Token><![CDATA[ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR]]></Token>"
           "<OpenKfId><![CDATA[wkxxxxxxx]]></OpenKfId></xml>")
    answer = _sealed_post(platform, "acme-wecom", xml, CORP_ID, wechat=False)
    assert (answer.status_code, answer.text) == (200, "")
    assert [(name, dict(pull.params)) for name, pull in platform.pulls] == [
        ("acme-wecom", {"token": "ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR", "open_kfid": "wkxxxxxxx"})]


# --- generic ingest ---------------------------------------------------------------------------------------

def test_generic_ingest_answers_per_line_and_keeps_rejected_lines_as_dead_letters(platform, event_factory):
    good = json.dumps(event_factory(author={"id": "gen-1"}))
    bad = json.dumps(event_factory(platform="myspace"))
    answer = platform.client.post("/v1/ingest/events", content=f"{good}\n{bad}\n".encode(),
                                  headers={"X-API-Key": INGEST_KEY})
    assert answer.status_code == 200
    result = answer.json()
    assert (result["accepted"], result["rejected"]) == (1, 1)
    assert [line["status"] for line in result["lines"]] == ["accepted", "rejected"]
    assert result["lines"][1]["field"] == "platform"

    platform.settle()
    assert platform.profile("weibo:gen-1") is not None
    [letter] = platform.dead_letters()
    assert (letter.original, letter.stage) == (bad.encode(), "intake")


def test_generic_ingest_needs_the_ingest_role(platform):
    assert platform.client.post("/v1/ingest/events", content=b"[]").status_code == 401
    assert platform.client.post("/v1/ingest/events", content=b"[]",
                                headers={"X-API-Key": AGENT_KEY}).status_code == 403


# --- connector health -------------------------------------------------------------------------------------

def test_connector_health_reports_deliveries_refusals_and_dead_letters_without_secrets(platform):
    _meta_post(platform, json.dumps(META_DELIVERY).encode())
    _meta_post(platform, b"{}", secret="wrong")
    _meta_post(platform, b"not json")

    answer = platform.client.get("/v1/connectors", headers={"X-API-Key": AGENT_KEY})
    assert answer.status_code == 200
    by_name = {c["name"]: c for c in answer.json()}
    meta = by_name["acme-meta"]
    assert (meta["platform"], meta["brand"]) == ("meta", "acme")
    assert (meta["deliveries"], meta["deliveries_last_minute"], meta["events"]) == (1, 1, 3)
    assert (meta["signature_failures"], meta["dead_letters"]) == (1, 1)
    assert meta["last_error"].startswith("dead letter: ")
    assert by_name["acme-wechat"]["deliveries"] == 0
    assert (meta["kind"], meta["state"], by_name["acme-wechat"]["state"]) == ("webhook", "failing", "idle")
    assert (by_name["acme-x"]["kind"], by_name["acme-x"]["state"], by_name["acme-x"]["poll"]) == ("poll", "waiting", None)
    assert APP_SECRET not in answer.text and VERIFY_TOKEN not in answer.text and WECHAT_TOKEN not in answer.text
    assert X_BEARER not in answer.text
    assert platform.client.get("/v1/connectors", headers={"X-API-Key": INGEST_KEY}).status_code == 403


def test_a_poll_connector_has_no_webhook_and_shows_the_health_its_poller_stored(platform):
    from datetime import timedelta

    from ingest.polling.engine import PollStats
    from ingest.polling.health import PollHealth, SqlHealthStore

    assert platform.client.post("/v1/ingest/webhooks/acme-x", content=b"{}").status_code == 404
    record = PollHealth(connector="acme-x", platform="x").after_round(
        PollStats("acme-x", requests=3, pages=2, events=5), at=NOW - timedelta(seconds=30),
        next_round_at=NOW + timedelta(minutes=4), refused_until=None)
    SqlHealthStore(platform.storage.session_factory, clock=lambda: NOW).save(record)
    listed = {c["name"]: c for c in platform.client.get("/v1/connectors", headers={"X-API-Key": AGENT_KEY}).json()}
    x = listed["acme-x"]
    assert (x["state"], x["poll"]["events"], x["poll"]["pages"], x["poll"]["rounds"]) == ("live", 5, 2, 1)
