"""The Douyin adapter on events in the shape of the Douyin open platform's public documentation:

- "Webhooks 概述" (URL check ``verify_webhook``, retries and ``Msg-Id``, ``X-Douyin-Signature`` =
  sha1(client secret + body), with its Go example body),
  https://developer.open-douyin.com/docs/resource/zh-CN/dop/develop/webhooks/summarize
- "事件列表" (the envelope ``event / from_user_id / to_user_id / client_key / content``, event names),
  https://developer.open-douyin.com/docs/resource/zh-CN/dop/develop/webhooks/event-list
- "接收私信消息事件" (``im_receive_msg``: content as an object, ``create_time`` in ms, ``user_infos``),
  https://developer.open-douyin.com/docs/resource/zh-CN/dop/develop/openapi/search-management/private-message/private-msg-webhook
- "接收用户关注事件" (``new_follow_action``: content a JSON string, ``action_time`` in seconds),
  https://developer.open-douyin.com/docs/resource/zh-CN/dop/develop/openapi/interaction-management/intention-user/user-follow
- "接收评论回复事件" (``item_comment_reply``),
  https://developer.open-douyin.com/docs/resource/zh-CN/dop/develop/openapi/interaction-management/comment-management-user/accept-comment-reply-event

Douyin sends one event per request, so "several entries in one delivery" does not arise: a JSON array body
is refused as not a Douyin event.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ingest.adapters.base import Delivery, SignatureRejected, WebhookRequest
from ingest.adapters.douyin import DEAD_LETTER_REPLY, DouyinConnector, handle
from ingest.contracts import MAX_RAW_BYTES, MAX_TEXT_CHARS, EventKind, Platform
from ingest.exceptions import InvalidEvent

SECRET = "douyin-client-secret"
RECEIVED = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
CONNECTOR = DouyinConnector(name="douyin-acme", brand="acme", client_secret=SECRET)

IM_RECEIVE_MSG: dict[str, Any] = {
    "event": "im_receive_msg",
    "client_key": "asdfavetgbvasf",
    "from_user_id": "aaa-ae9b-4dbf-add1-bf67e4093fab",
    "to_user_id": "aaa-7ae0-4399-914a-5eb1df5861ba",
    "log_id": "2023429834752345783",
    "content": {
        "conversation_short_id": "@9Vxc1/yDU8sqaS+gN4koEc7912foPPiLPZVyrQmgKVQabPH460zdRmYqig357zEBMaXjKvvhvwY02ISB7llsWQ==",
        "server_message_id": "@9Vxc1/yDU8sqaS+gN4koEc7912foPPyAPpF2rgykLFgbafb560zdRmYqig357zEBmWXVPshhwyd/y/7BQpXy/w==",
        "conversation_type": 1,
        "create_time": 1681303285997,
        "message_type": "text",
        "source": "",
        "scene_type": 100,
        "text": "捷途70",
        "user_infos": [
            {
                "open_id": "aaa-ae9b-4dbf-add1-bf67e4093fab",
                "nick_name": "刘东",
                "avatar": "https://p3.douyinpic.com/a.jpeg",
            },
            {
                "open_id": "aaa-7ae0-4399-914a-5eb1df5861ba",
                "nick_name": "毕节--捷途万丰店",
                "avatar": "https://p3.douyinpic.com/b.jpeg",
            },
        ],
    },
}
NEW_FOLLOW_ACTION: dict[str, Any] = {
    "event": "new_follow_action",
    "client_key": "awr8bfr64vxgk036",
    "from_user_id": "5bfa0218-477c-4d51-865c-64f0588794a6",
    "to_user_id": "e3af6e1d-d83a-4116-8f9f-5cb8ac2413c7",
    "content": '{"action_type":1,"action_time":1686811643}',
    "log_id": "202306151447300000000000005369C6D",
}
ITEM_COMMENT_REPLY: dict[str, Any] = {
    "event": "item_comment_reply",
    "from_user_id": "c0a3c4f1-8b5e-4b0a-9c59-1f2d3e4a5b6c",
    "to_user_id": "e3af6e1d-d83a-4116-8f9f-5cb8ac2413c7",
    "client_key": "awr8bfr64vxgk036",
    "content": {
        "comment_id": "@9VwW0qOBUN9mJyD3bNxvGc791GzgOPqBPZZyoA+lKVcaZ/P860zdRmYqig357zEBTPAmauvAUsItTqnHsp+cJw==",
        "comment_user_id": "c0a3c4f1-8b5e-4b0a-9c59-1f2d3e4a5b6c",
        "content": "这款什么时候有货?",
        "create_time": 1686811700,
        "digg_count": 3,
        "reply_comment_total": 1,
        "reply_to_comment_id": "",
        "reply_to_item_id": "@9VxT0uuFWsE7M3Koc4olFM791WbsNPGKOp1wrgiiJ1ERbfD060zdRmYqig357zEB1tSgbExoci7R0e1yFxAIMw==",
        "at_user_id": "",
    },
}


def signed(
    payload: Any, *, secret: str = SECRET, msg_id: str | None = None, received_at: datetime = RECEIVED
) -> WebhookRequest:
    body = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
    headers = {
        "x-douyin-signature": hashlib.sha1(secret.encode() + body).hexdigest(),
        "content-type": "application/json",
    }
    if msg_id is not None:
        headers["msg-id"] = msg_id
    return WebhookRequest("POST", {}, headers, body, received_at)


def only_event(delivery: Delivery) -> Any:
    assert len(delivery.events) == 1 and delivery.skipped == (), delivery.skipped
    assert delivery.reply.status == 200
    return delivery.events[0]


# --- the URL check and the signature -----------------------------------------------------------------


def test_verify_webhook_echoes_the_challenge_as_json() -> None:
    body = (
        b'{"event":"verify_webhook","client_key":"abc","content":{"challenge":12345}}'  # the docs' Go example
    )
    delivery = handle(signed(body), CONNECTOR)
    assert delivery.reply.status == 200
    assert json.loads(delivery.reply.body) == {"challenge": 12345}
    assert delivery.events == () and delivery.skipped == ()


def test_a_missing_signature_is_refused_401() -> None:
    request = WebhookRequest("POST", {}, {}, json.dumps(IM_RECEIVE_MSG).encode(), RECEIVED)
    with pytest.raises(SignatureRejected) as refused:
        handle(request, CONNECTOR)
    assert refused.value.status == 401


def test_a_wrong_signature_is_refused_401_without_naming_the_secret() -> None:
    with pytest.raises(SignatureRejected) as refused:
        handle(signed(IM_RECEIVE_MSG, secret="not-the-secret"), CONNECTOR)
    assert refused.value.status == 401 and SECRET not in str(refused.value)


def test_the_signature_is_checked_over_the_exact_bytes_and_hex_case_does_not_matter() -> None:
    request = signed(IM_RECEIVE_MSG)
    upper = {**request.headers, "x-douyin-signature": request.headers["x-douyin-signature"].upper()}
    assert only_event(handle(WebhookRequest("POST", {}, upper, request.body, RECEIVED), CONNECTOR))
    with pytest.raises(SignatureRejected):
        handle(WebhookRequest("POST", {}, request.headers, request.body + b" ", RECEIVED), CONNECTOR)


# --- private messages, comments, follows, likes ------------------------------------------------------


def test_a_private_message_becomes_a_chat_message_from_the_sender() -> None:
    event = only_event(handle(signed(IM_RECEIVE_MSG), CONNECTOR))
    content = IM_RECEIVE_MSG["content"]
    assert (event.platform, event.kind) == (Platform.DOUYIN, EventKind.CHAT_MESSAGE)
    assert event.event_id == content["server_message_id"]
    assert event.identity_key == "douyin:aaa-ae9b-4dbf-add1-bf67e4093fab"
    assert (event.author.display_name, event.text) == ("刘东", "捷途70")
    assert event.thread_id == content["conversation_short_id"]
    assert event.occurred_at == datetime(2023, 4, 12, 12, 41, 25, 997000, tzinfo=UTC)  # create_time is ms
    assert (event.received_at, event.source, event.brand) == (RECEIVED, "douyin-acme", "acme")
    assert event.raw == IM_RECEIVE_MSG


def test_a_message_whose_content_is_a_json_string_and_a_non_text_message() -> None:
    as_string = {
        **IM_RECEIVE_MSG,
        "content": json.dumps({**IM_RECEIVE_MSG["content"], "message_type": "image"}),
    }
    event = only_event(handle(signed(as_string), CONNECTOR))
    assert event.event_id == IM_RECEIVE_MSG["content"]["server_message_id"]
    assert event.text is None


def test_a_fan_group_message_becomes_a_chat_message_in_that_group() -> None:
    group = {
        "event": "im_group_receive_msg",
        "client_key": "asdfavetgbvasf",
        "from_user_id": "eeb0ea9b-bed4-4b70-913d-c29bfc00000",
        "to_user_id": "aaa-7ae0-4399-914a-5eb1df5861ba",
        "content": {
            "conversation_short_id": "@c29bfc000+group",
            "server_message_id": "@c29bfc000+message",
            "conversation_type": 2,
            "create_time": 1656671771668,
            "message_type": "emoji",
            "resource_type": "gif",
            "resource_url": "",
        },
    }
    event = only_event(handle(signed(group), CONNECTOR))
    assert (event.kind, event.event_id, event.thread_id) == (
        EventKind.CHAT_MESSAGE,
        "@c29bfc000+message",
        "@c29bfc000+group",
    )
    assert event.text is None and event.identity_key == "douyin:eeb0ea9b-bed4-4b70-913d-c29bfc00000"


def test_a_comment_and_a_reply_on_the_brands_video() -> None:
    comment = only_event(handle(signed(ITEM_COMMENT_REPLY), CONNECTOR))
    content = ITEM_COMMENT_REPLY["content"]
    assert (comment.kind, comment.event_id) == (EventKind.COMMENT, content["comment_id"])
    assert comment.identity_key == "douyin:c0a3c4f1-8b5e-4b0a-9c59-1f2d3e4a5b6c"
    assert (comment.parent_id, comment.thread_id) == (
        content["reply_to_item_id"],
        content["reply_to_item_id"],
    )
    assert (comment.text, comment.metrics.likes, comment.metrics.replies) == ("这款什么时候有货?", 3, 1)
    assert comment.occurred_at == datetime.fromtimestamp(1686811700, tz=UTC)
    reply_body = {
        **ITEM_COMMENT_REPLY,
        "content": {**content, "comment_id": "@reply", "reply_to_comment_id": "@parent"},
    }
    reply = only_event(handle(signed(reply_body), CONNECTOR))
    assert (reply.kind, reply.parent_id, reply.thread_id) == (
        EventKind.REPLY,
        "@parent",
        content["reply_to_item_id"],
    )


def test_the_brands_own_comment_is_skipped() -> None:
    own = {
        **ITEM_COMMENT_REPLY,
        "content": {**ITEM_COMMENT_REPLY["content"], "comment_user_id": ITEM_COMMENT_REPLY["to_user_id"]},
    }
    delivery = handle(signed(own), CONNECTOR)
    assert (
        delivery.events == ()
        and delivery.skipped[0].reason == "a comment by the authorized (brand) account itself"
    )


def test_a_follow_becomes_a_follow_with_an_id_from_who_whom_and_when() -> None:
    event = only_event(handle(signed(NEW_FOLLOW_ACTION), CONNECTOR))
    assert event.kind == EventKind.FOLLOW
    assert (
        event.event_id
        == "follow:5bfa0218-477c-4d51-865c-64f0588794a6:e3af6e1d-d83a-4116-8f9f-5cb8ac2413c7:1686811643"
    )
    assert event.occurred_at == datetime.fromtimestamp(1686811643, tz=UTC)  # action_time is seconds
    assert event.identity_key == "douyin:5bfa0218-477c-4d51-865c-64f0588794a6"


def test_a_video_like_becomes_a_like_of_that_video_and_an_undo_is_skipped() -> None:
    item = "@9VwWjvGUTp9kKW+ma4huFs791WPtO/mAPpx3rg6nL1kRbfn/60zdRmYqig357zEBDoyWkKJYf4Ae9sL0fd9gYw=="
    digg = {
        "event": "new_video_digg",
        "client_key": "awr8bfr64vxgk036",
        "from_user_id": "5adb9d61-b91a-4382-8252-b0cea8793e35",
        "to_user_id": "e3af6e1d-d83a-4116-8f9f-5cb8ac2413c7",
        "content": json.dumps({"action_type": 1, "action_time": 1686817996, "item_id": item}),
    }
    event = only_event(handle(signed(digg), CONNECTOR))
    assert (event.kind, event.parent_id, event.event_id) == (
        EventKind.LIKE,
        item,
        f"digg:5adb9d61-b91a-4382-8252-b0cea8793e35:{item}:1686817996",
    )
    undone = {**digg, "content": json.dumps({"action_type": 2, "action_time": 1686817999, "item_id": item})}
    assert "action_type=2" in handle(signed(undone), CONNECTOR).skipped[0].reason


@pytest.mark.parametrize(
    ("event_name", "reason_part"),
    [
        ("im_send_msg", "brand"),
        ("im_enter_direct_msg", "opened"),
        ("authorize", "authorization"),
        ("life_trade_order_notify", "not turned into events"),
    ],
)
def test_other_events_are_skipped_with_a_reason(event_name: str, reason_part: str) -> None:
    delivery = handle(signed({**IM_RECEIVE_MSG, "event": event_name}), CONNECTOR)
    assert delivery.events == () and delivery.reply.status == 200
    (skip,) = delivery.skipped
    assert skip.what == f"event={event_name}" and reason_part in skip.reason


# --- retries, malformed and over-large events --------------------------------------------------------


@pytest.mark.parametrize("payload", [IM_RECEIVE_MSG, NEW_FOLLOW_ACTION, ITEM_COMMENT_REPLY])
def test_a_retried_event_gives_the_same_event_id(payload: dict[str, Any]) -> None:
    first = handle(signed(payload, msg_id="msg-1"), CONNECTOR)
    retry = handle(signed(payload, msg_id="msg-1", received_at=RECEIVED + timedelta(seconds=5)), CONNECTOR)
    assert [e.event_id for e in first.events] == [e.event_id for e in retry.events] != []


def test_a_message_without_its_id_falls_back_to_the_msg_id_header_else_is_invalid() -> None:
    content = {k: v for k, v in IM_RECEIVE_MSG["content"].items() if k != "server_message_id"}
    without_id = {**IM_RECEIVE_MSG, "content": content}
    assert only_event(handle(signed(without_id, msg_id="2f5c1e9a"), CONNECTOR)).event_id == "2f5c1e9a"
    with pytest.raises(InvalidEvent) as invalid:
        handle(signed(without_id), CONNECTOR)
    assert invalid.value.field == "content.server_message_id"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "<payload>"),
        (b"", "<payload>"),
        (b"[" + json.dumps(IM_RECEIVE_MSG).encode() + b"]", "<payload>"),
        (json.dumps({**IM_RECEIVE_MSG, "event": None}).encode(), "event"),
        (json.dumps({**NEW_FOLLOW_ACTION, "content": "{broken"}).encode(), "content"),
        (json.dumps({**IM_RECEIVE_MSG, "from_user_id": ""}).encode(), "from_user_id"),
        (b'{"event":"verify_webhook","content":{}}', "content.challenge"),
    ],
)
def test_a_signed_body_that_cannot_be_read_raises_invalid_event(body: bytes, field: str) -> None:
    with pytest.raises(InvalidEvent) as invalid:
        handle(signed(body), CONNECTOR)
    assert invalid.value.field == field
    assert DEAD_LETTER_REPLY.status == 200  # answered 200 anyway: Douyin would retry, then may unsubscribe


def test_an_over_large_comment_still_flows_with_text_cut_and_raw_left_out() -> None:
    huge = "好" * (MAX_RAW_BYTES // 2)
    body = {**ITEM_COMMENT_REPLY, "content": {**ITEM_COMMENT_REPLY["content"], "content": huge}}
    event = only_event(handle(signed(body), CONNECTOR))
    assert event.text == huge[:MAX_TEXT_CHARS]
    assert event.raw is not None and set(event.raw) == {"omitted", "bytes"}
