"""WeCom 微信客服: mapping ``kf/sync_msg`` items to events, and the pull client against a local stand-in.

Documentation (developer.work.weixin.qq.com):
- 微信客服 接收消息和事件 (读取消息 ``kf/sync_msg``, msg_list item shapes),
  https://developer.work.weixin.qq.com/document/path/94670
- 获取access_token (``gettoken``), https://developer.work.weixin.qq.com/document/path/91039
Items below are the documentation's examples. The stand-in is an ``http.server`` on 127.0.0.1 that answers
``gettoken`` and ``sync_msg`` the way the documentation shows; time is an injected clock.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from wechat_builders import CORP_ID, T0, wecom_config

from ingest.adapters.base import Pull
from ingest.adapters.wecom import KF_SYNC_MSG
from ingest.adapters.wecom_kf import events_from_kf_messages
from ingest.contracts import EventKind, Platform
from ingest.exceptions import PlatformApiError
from ingest.webhooks.wecom_kf import WeComApi

KFID = "wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q"
CUSTOMER = "wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw"
CALLBACK_TOKEN = "ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR"


def item(msgid: str, msgtype: str, body: dict[str, Any] | None = None, *, origin: int = 3) -> dict[str, Any]:
    base: dict[str, Any] = {"msgid": msgid, "open_kfid": KFID, "external_userid": CUSTOMER,
                            "send_time": 1615478585, "origin": origin, "msgtype": msgtype}
    if origin == 5:
        base["servicer_userid"] = "Zhangsan"
    return base | ({msgtype: body} if body is not None else {})


TEXT = item("from_msgid_4622416642169452483", "text",
            {"content": "你购买的物品已发货，可点击链接查看物流状态http://work.weixin.qq.com/xxxxxx", "menu_id": "101"})
IMAGE = item("from_msgid_2", "image", {"media_id": "2iSLeVyqzk4eX0IB5kTi9Ljfa2rt9dwfq5WKRQ4Nvvgw"})
VOICE = item("from_msgid_3", "voice", {"media_id": "2iSLeVyqzk4eX0IB5kTi9Ljfa2rt9dwfq5WKRQ4Nvvgw"})
FILE = item("from_msgid_4", "file", {"media_id": "2iSLeVyqzk4eX0IB5kTi9Ljfa2rt9dwfq5WKRQ4Nvvgw"})
LOCATION = item("from_msgid_5", "location", {"latitude": 23.106021881103501, "longitude": 113.320106506348,
                                             "name": "广州国际媒体港(广州市海珠区)", "address": "广东省广州市海珠区滨江东路"})
LINK = item("from_msgid_6", "link", {"title": "TITLE", "desc": "DESC", "url": "URL", "pic_url": "PIC_URL"})
CARD = item("from_msgid_7", "business_card", {"userid": "USERID"})
MINIPROGRAM = item("from_msgid_8", "miniprogram", {"title": "TITLE", "appid": "APPID", "pagepath": "PAGE_PATH",
                                                   "thumb_media_id": "THUMB_MEDIA_ID"})
ENTER_SESSION = {"msgid": "from_msgid_9", "send_time": 1615478585, "origin": 4, "msgtype": "event",
                 "event": {"event_type": "enter_session", "open_kfid": KFID, "external_userid": CUSTOMER,
                           "scene": "123", "scene_param": "abc", "welcome_code": "aaaaaa"}}
SERVICER_REPLY = item("from_msgid_10", "text", {"content": "您好"}, origin=5)


def test_a_page_of_several_customer_messages_becomes_chat_messages_in_order():
    page = [TEXT, IMAGE, VOICE, FILE, LOCATION, LINK, CARD, MINIPROGRAM]
    batch = events_from_kf_messages(page, wecom_config(), T0)
    assert batch.skipped == () and batch.invalid == ()
    assert [e.event_id for e in batch.events] == [m["msgid"] for m in page]
    assert {e.kind for e in batch.events} == {EventKind.CHAT_MESSAGE}
    assert {e.identity_key for e in batch.events} == {f"wecom:{CUSTOMER}"}
    text, image, voice, file, location, link, card, mini = batch.events
    assert text.text == TEXT["text"]["content"] and text.platform is Platform.WECOM
    assert text.occurred_at == datetime.fromtimestamp(1615478585, tz=UTC) and text.received_at == T0
    assert text.thread_id == f"{KFID}:{CUSTOMER}" and text.source == "wecom-acme" and text.brand == "acme"
    assert text.raw == TEXT
    assert [e.text for e in (image, voice, file, card)] == [None] * 4
    assert location.text == "广州国际媒体港(广州市海珠区)\n广东省广州市海珠区滨江东路"
    assert (link.text, link.url) == ("TITLE\nDESC", "URL") and mini.text == "TITLE"


def test_system_events_servicer_messages_and_unknown_types_are_skipped_with_reasons():
    unknown = item("from_msgid_11", "channels_shop_product", {"product_id": "1"})
    batch = events_from_kf_messages([ENTER_SESSION, SERVICER_REPLY, unknown, TEXT], wecom_config(), T0)
    assert [e.event_id for e in batch.events] == [TEXT["msgid"]]
    event, servicer, other = batch.skipped
    assert event.what == "msg_list[0] msgtype=event origin=4" and "system event" in event.reason
    assert "servicer" in servicer.reason and "does not map" in other.reason


def test_an_unreadable_item_is_returned_for_the_dead_letter_and_the_rest_goes_on():
    broken = {k: v for k, v in TEXT.items() if k != "msgid"}
    batch = events_from_kf_messages([broken, "not an object", IMAGE], wecom_config(), T0)
    assert [e.event_id for e in batch.events] == [IMAGE["msgid"]]
    first, second = batch.invalid
    assert first.error.field == "msg_list[0].msgid" and json.loads(first.original) == broken
    assert second.error.field == "msg_list[1]"


def test_fetching_the_same_messages_again_gives_the_same_event_ids():
    once = events_from_kf_messages([TEXT, LINK], wecom_config(), T0)
    again = events_from_kf_messages([TEXT, LINK], wecom_config(), T0 + timedelta(minutes=3))
    assert [e.event_id for e in once.events] == [e.event_id for e in again.events]


class StandIn:
    """What the fake WeCom API knows and saw: pages by cursor, issued access tokens, requests."""

    def __init__(self) -> None:
        self.pages: dict[str, dict[str, Any]] = {}
        self.issued: list[str] = []
        self.revoked: set[str] = set()
        self.sync_bodies: list[dict[str, Any]] = []
        self.error: dict[str, Any] | None = None

    def answer(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> dict[str, Any]:
        if method == "GET" and path == "/cgi-bin/gettoken":
            if query.get("corpid") != [CORP_ID] or query.get("corpsecret") != ["kf-secret"]:
                return {"errcode": 40001, "errmsg": "invalid credential"}
            self.issued.append(f"ACCESS_TOKEN_{len(self.issued) + 1}")
            return {"errcode": 0, "errmsg": "ok", "access_token": self.issued[-1], "expires_in": 7200}
        if method == "POST" and path == "/cgi-bin/kf/sync_msg":
            token = query.get("access_token", [""])[0]
            if token not in self.issued or token in self.revoked:
                return {"errcode": 42001, "errmsg": "access_token expired"}
            sent = json.loads(body)
            self.sync_bodies.append(sent)
            return self.error or self.pages[sent.get("cursor", "")]
        return {"errcode": 404, "errmsg": "no such api"}


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def _reply(self, method: str) -> None:
        parts = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        payload = json.dumps(self.server.stand_in.answer(method, parts.path, parse_qs(parts.query), body)).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._reply("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._reply("POST")

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(HTTPServer):
    stand_in: StandIn


@pytest.fixture
def stand_in() -> Iterator[tuple[StandIn, str]]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.stand_in = StandIn()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server.stand_in, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


PULL = Pull(api=KF_SYNC_MSG, params={"token": CALLBACK_TOKEN, "open_kfid": KFID})


def three_pages(api: StandIn) -> None:
    api.pages = {
        "CURSOR_0": {"errcode": 0, "errmsg": "ok", "next_cursor": "CURSOR_1", "has_more": 1, "msg_list": [TEXT, IMAGE]},
        "CURSOR_1": {"errcode": 0, "errmsg": "ok", "next_cursor": "CURSOR_2", "has_more": 1, "msg_list": []},
        "CURSOR_2": {"errcode": 0, "errmsg": "ok", "next_cursor": "CURSOR_3", "has_more": 0,
                     "msg_list": [ENTER_SESSION, LINK]},
    }


def test_a_sync_pages_while_has_more_and_returns_the_cursor_to_store(stand_in):
    api, url = stand_in
    three_pages(api)
    with WeComApi(wecom_config(), clock=Clock(), base_url=url) as client:
        synced = client.sync_kf(PULL, cursor="CURSOR_0")
    assert [m["msgid"] for m in synced.messages] == [TEXT["msgid"], IMAGE["msgid"], "from_msgid_9", LINK["msgid"]]
    assert synced.next_cursor == "CURSOR_3" and synced.has_more is False
    assert [b["cursor"] for b in api.sync_bodies] == ["CURSOR_0", "CURSOR_1", "CURSOR_2"]
    assert all(b["token"] == CALLBACK_TOKEN and b["open_kfid"] == KFID and b["limit"] == 1000
               for b in api.sync_bodies)
    batch = events_from_kf_messages(synced.messages, wecom_config(), T0)
    assert len(batch.events) == 3 and len(batch.skipped) == 1


def test_the_first_sync_sends_no_cursor(stand_in):
    api, url = stand_in
    api.pages = {"": {"errcode": 0, "errmsg": "ok", "next_cursor": "C1", "has_more": 0, "msg_list": [TEXT]}}
    with WeComApi(wecom_config(), clock=Clock(), base_url=url) as client:
        synced = client.sync_kf(PULL, cursor=None)
    assert "cursor" not in api.sync_bodies[0] and synced.next_cursor == "C1"


def test_the_access_token_is_cached_until_shortly_before_it_expires(stand_in):
    api, url = stand_in
    three_pages(api)
    clock = Clock()
    with WeComApi(wecom_config(), clock=clock, base_url=url) as client:
        client.sync_kf(PULL, cursor="CURSOR_0")
        client.sync_kf(PULL, cursor="CURSOR_2")
        assert api.issued == ["ACCESS_TOKEN_1"]
        clock.now = T0 + timedelta(seconds=7200 - 300 - 1)
        assert client.access_token() == "ACCESS_TOKEN_1"
        clock.now = T0 + timedelta(seconds=7200 - 300)
        assert client.access_token() == "ACCESS_TOKEN_2"


def test_a_token_wecom_stopped_accepting_is_refreshed_once_and_the_call_retried(stand_in):
    api, url = stand_in
    three_pages(api)
    with WeComApi(wecom_config(), clock=Clock(), base_url=url) as client:
        client.access_token()
        api.revoked.add("ACCESS_TOKEN_1")
        synced = client.sync_kf(PULL, cursor="CURSOR_2")
    assert api.issued == ["ACCESS_TOKEN_1", "ACCESS_TOKEN_2"] and synced.next_cursor == "CURSOR_3"


def test_an_error_code_raises_and_returns_nothing(stand_in):
    api, url = stand_in
    api.error = {"errcode": 95007, "errmsg": "invalid msg token"}
    with WeComApi(wecom_config(), clock=Clock(), base_url=url) as client, pytest.raises(PlatformApiError) as caught:
        client.sync_kf(PULL, cursor="CURSOR_0")
    assert caught.value.code == 95007 and caught.value.platform == "wecom"


def test_wrong_credentials_raise_the_platforms_error(stand_in):
    _, url = stand_in
    with WeComApi(wecom_config(secret="wrong"), clock=Clock(), base_url=url) as client, pytest.raises(
        PlatformApiError
    ) as caught:
        client.access_token()
    assert caught.value.code == 40001 and "wrong" not in str(caught.value)


def test_max_pages_stops_early_and_says_there_is_more(stand_in):
    api, url = stand_in
    three_pages(api)
    with WeComApi(wecom_config(), clock=Clock(), base_url=url) as client:
        synced = client.sync_kf(PULL, cursor="CURSOR_0", max_pages=2)
    assert synced.has_more is True and synced.next_cursor == "CURSOR_2" and len(synced.messages) == 2


def test_the_client_needs_a_secret_and_a_kf_pull():
    with pytest.raises(ValueError):
        WeComApi(wecom_config(secret=None), clock=Clock())
    with WeComApi(wecom_config(), clock=Clock()) as client, pytest.raises(ValueError):
        client.sync_kf(Pull(api="meta.graph", params={}), cursor=None)
