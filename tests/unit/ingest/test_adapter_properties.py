"""Property tests: whatever a correctly signed request holds, every adapter answers it with a delivery
(events, skipped parts, a reply) or ``InvalidEvent`` (a dead letter) — never another exception, which would
be a 500 the platform retries for hours. Bodies range from arbitrary bytes to JSON/XML in the platforms'
documented shapes with arbitrary values (hypothesis; bounded examples so the suite stays quick)."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wechat_builders import encrypted_post, plain_post, seal, wechat_config, wecom_config

from ingest.adapters import douyin, meta, wechat, wecom
from ingest.adapters.base import Delivery, WebhookRequest
from ingest.adapters.generic import Accepted, Rejected, parse_events
from ingest.contracts import SocialEvent
from ingest.exceptions import InvalidEvent

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
RECEIVED = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
META = meta.MetaConnector(name="meta-acme", brand="acme", app_secret="app-secret", verify_token="verify")
DOUYIN = douyin.DouyinConnector(name="douyin-acme", brand="acme", client_secret="client-secret")

scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**63, 2**64), st.floats(allow_nan=False),
                    st.text(max_size=40))
ids = st.one_of(st.text(alphabet="0123456789_", min_size=1, max_size=18), st.integers(0, 10**18), scalars)
"""Mostly id-like values, sometimes anything."""
times = st.one_of(st.integers(1_500_000_000, 1_800_000_000), st.integers(1_500_000_000_000, 1_800_000_000_000),
                  scalars)
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(st.text(max_size=12), inner, max_size=4)),
                           max_leaves=25)


def _mutated(template: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """``template`` (a valid item) with some of its fields replaced by arbitrary values or removed."""
    def apply(changes: dict[str, Any], removed: list[str]) -> dict[str, Any]:
        out = {**template, **changes}
        for key in removed:
            out.pop(key, None)
        return out
    keys = sorted(template)
    return st.builds(apply, st.dictionaries(st.sampled_from(keys), json_values, max_size=2),
                     st.lists(st.sampled_from(keys), max_size=1))


FEED_COMMENT = {"item": "comment", "verb": "add", "post_id": "1_2", "comment_id": "1_3", "parent_id": "1_2",
                "from": {"id": "77", "name": "Li"}, "message": "好用", "created_time": 1_760_000_000}
IG_COMMENT = {"id": "179", "from": {"id": "55", "username": "li"}, "text": "nice", "media": {"id": "1790"}}
MESSAGE = {"sender": {"id": "555"}, "recipient": {"id": "1"}, "timestamp": 1_760_000_000_000,
           "message": {"mid": "m_1", "text": "hi"}}
DOUYIN_COMMENT = {"comment_id": "c1", "comment_user_id": "u1", "content": "好", "create_time": 1_760_000_000,
                  "reply_to_item_id": "v1", "digg_count": 1, "reply_comment_total": 0}


def _meta_change() -> st.SearchStrategy[dict[str, Any]]:
    value = st.fixed_dictionaries({}, optional={
        "item": st.sampled_from(["comment", "reaction", "like", "post", "status", "share", "photo", "event"]),
        "verb": st.sampled_from(["add", "edited", "remove"]), "post_id": ids, "comment_id": ids,
        "parent_id": ids, "from": st.one_of(json_values, st.fixed_dictionaries({"id": ids, "name": scalars})),
        "message": scalars, "created_time": times, "reaction_type": scalars, "share_id": ids,
        "sender_id": ids, "id": ids, "text": scalars, "media": json_values, "media_id": ids,
    })
    return st.fixed_dictionaries({"field": st.sampled_from(["feed", "mention", "comments", "mentions", "ratings"]),
                                  "value": st.one_of(value, json_values)})


meta_bodies = st.one_of(
    st.tuples(st.lists(st.one_of(_mutated(FEED_COMMENT).map(lambda v: {"field": "feed", "value": v}),
                                 _mutated(IG_COMMENT).map(lambda v: {"field": "comments", "value": v})),
                       min_size=1, max_size=4),
              st.lists(_mutated(MESSAGE), max_size=2), st.sampled_from(["page", "instagram"])).map(
        lambda t: json.dumps({"object": t[2], "entry": [{"id": "1", "time": 1_760_000_000, "changes": t[0],
                                                         "messaging": t[1]}]}).encode()),
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({
        "object": st.sampled_from(["page", "instagram", "user", 7]),
        "entry": st.lists(st.fixed_dictionaries({"id": ids, "time": scalars}, optional={
            "changes": st.lists(_meta_change(), max_size=3),
            "messaging": st.lists(st.fixed_dictionaries({}, optional={
                "recipient": json_values,
                "sender": st.fixed_dictionaries({"id": ids}), "timestamp": times,
                "message": st.one_of(st.fixed_dictionaries({"mid": ids, "text": scalars}, optional={
                    "is_echo": st.booleans(), "attachments": json_values, "reply_to": json_values}), json_values),
                "read": json_values}), max_size=3)}), max_size=3),
    }).map(lambda v: json.dumps(v).encode()),
)


def _assert_total(delivery: Delivery) -> None:
    assert isinstance(delivery, Delivery)
    for event in delivery.events:
        assert isinstance(event, SocialEvent)
        SocialEvent.model_validate_json(event.model_dump_json())  # what goes on the wire reads back


def _outcome(handle: Any, request: WebhookRequest, config: Any) -> None:
    with contextlib.suppress(InvalidEvent):  # a dead letter: the other allowed outcome
        _assert_total(handle(request, config))


@SETTINGS
@given(meta_bodies)
def test_meta_answers_any_signed_body(body: bytes) -> None:
    mac = hmac.new(b"app-secret", body, hashlib.sha256).hexdigest()
    request = WebhookRequest(method="POST", query={}, headers={"x-hub-signature-256": f"sha256={mac}"},
                             body=body, received_at=RECEIVED)
    _outcome(meta.handle, request, META)


douyin_bodies = st.one_of(
    _mutated(DOUYIN_COMMENT).map(lambda c: json.dumps({"event": "item_comment_reply", "from_user_id": "u1",
                                                       "to_user_id": "brand", "content": json.dumps(c)}).encode()),
    st.binary(max_size=300),
    st.fixed_dictionaries({
        "event": st.sampled_from(["im_receive_msg", "item_comment_reply", "new_follow_action", "new_video_digg",
                                  "verify_webhook", "im_send_msg", "other"]),
    }, optional={"from_user_id": ids, "to_user_id": ids, "client_key": scalars, "log_id": scalars,
                 "content": st.one_of(st.fixed_dictionaries({}, optional={
                     "comment_id": ids, "comment_user_id": ids, "content": scalars, "create_time": times,
                     "reply_to_item_id": ids, "reply_to_comment_id": ids, "digg_count": scalars,
                     "server_message_id": ids, "text": scalars, "action_type": scalars, "action_time": times,
                     "item_id": ids, "challenge": scalars, "user_infos": json_values}),
                     json_values, json_values.map(json.dumps))
                 }).map(lambda v: json.dumps(v).encode()),
)


@SETTINGS
@given(douyin_bodies, st.one_of(st.none(), st.text(max_size=20)))
def test_douyin_answers_any_signed_body(body: bytes, msg_id: str | None) -> None:
    headers = {"x-douyin-signature": hashlib.sha1(b"client-secret" + body).hexdigest()}
    if msg_id is not None:
        headers["msg-id"] = msg_id
    _outcome(douyin.handle, WebhookRequest(method="POST", query={}, headers=headers, body=body,
                                           received_at=RECEIVED), DOUYIN)


xml_text = st.text(alphabet=st.characters(blacklist_categories=["Cs", "Cc"]), max_size=30)
wechat_fields = st.dictionaries(
    st.sampled_from(["ToUserName", "FromUserName", "CreateTime", "MsgType", "Content", "MsgId", "Event",
                     "EventKey", "PicUrl", "Recognition", "Label", "Title", "Description", "Url", "MsgDataId",
                     "ChangeType", "ExternalUserID", "UserID", "Token", "OpenKfId"]),
    st.one_of(xml_text, st.sampled_from(["text", "image", "voice", "event", "subscribe", "link", "location",
                                         "change_external_contact", "add_external_contact", "kf_msg_or_event",
                                         "1700000000", "-5", "99999999999999999999"])),
    max_size=10,
)


def _xml(fields: dict[str, str]) -> str:
    return "<xml>" + "".join(f"<{k}>{escape(v)}</{k}>" for k, v in fields.items()) + "</xml>"


@SETTINGS
@given(st.one_of(wechat_fields.map(_xml), st.text(max_size=200)))
def test_wechat_answers_any_signed_push(xml: str) -> None:
    _outcome(wechat.handle, plain_post(xml), wechat_config())
    _outcome(wechat.handle, encrypted_post("<xml><Encrypt>{ciphertext}</Encrypt></xml>",
                                           seal(xml, "wx1234567890abcdef")), wechat_config())


@SETTINGS
@given(st.one_of(wechat_fields.map(_xml), st.text(max_size=200)))
def test_wecom_answers_any_signed_callback(xml: str) -> None:
    request = encrypted_post("<xml><ToUserName>ww</ToUserName><Encrypt>{ciphertext}</Encrypt></xml>",
                             seal(xml, "ww0987654321fedcba"), wechat=False)
    _outcome(wecom.handle, request, wecom_config())


@SETTINGS
@given(st.one_of(st.binary(max_size=400), st.lists(json_values, max_size=5).map(lambda v: json.dumps(v).encode()),
                 st.lists(json_values, max_size=5).map(lambda v: "\n".join(map(json.dumps, v)).encode())))
def test_generic_ingest_judges_every_line(body: bytes) -> None:
    try:
        batch = parse_events(body)
    except InvalidEvent:
        return
    assert all(isinstance(outcome, Accepted | Rejected) for outcome in batch.outcomes)
    for event in batch.accepted:
        SocialEvent.model_validate_json(event.model_dump_json())

