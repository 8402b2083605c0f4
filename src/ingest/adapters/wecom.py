"""WeCom (企业微信) callbacks -> ``SocialEvent``s: customer contact (客户联系) and 微信客服. Pure:
``handle(request, config)``.

The platform's documentation (developer.work.weixin.qq.com): 回调配置 (/document/path/90930), 加解密方案说明
(/document/path/96211), 客户联系 变更回调 / 事件格式 (/document/path/92130), 微信客服 接收消息和事件
(/document/path/94670).

Requests (always encrypted, the CorpID as receiver id; the scheme is ``ingest.webhooks.wechat_crypto``)
- ``GET ?msg_signature&timestamp&nonce&echostr`` (URL verification when the callback is saved):
  ``msg_signature = sha1(sorted(token, timestamp, nonce, echostr))``; ``echostr`` is encrypted, and the
  answer is its plaintext.
- ``POST ?msg_signature&timestamp&nonce`` with ``<xml><ToUserName/><AgentID/><Encrypt/></xml>``.
- The signed ``timestamp`` must be within ``timestamp_window`` (default 5 minutes) of ``received_at``.

Replies: HTTP 200 with an empty body (``ACK``) for every accepted POST, mapped or skipped, and for a
dead-lettered one: WeCom treats 200 as received and retries anything else (three times, at 5-second
timeouts). A refused signature gets 401 (403 for a ciphertext for another CorpID).

Mapping (platform ``wecom``, author id = the customer's ``external_userid``; identity key
``wecom:<external_userid>``; a callback carries no unionid, so identity hints stay empty)
| callback | becomes |
|---|---|
| change_external_contact add_external_contact, add_half_external_contact | follow by ExternalUserID |
| change_external_contact edit_external_contact, del_external_contact, transfer_fail | skipped: staff actions |
| change_external_contact del_follow_user | skipped: an unfollow (no kind in SocialEvent v1) |
| kf_msg_or_event (微信客服) | no event; ``Delivery.pulls`` = one ``Pull(KF_SYNC_MSG, token, open_kfid)`` |
| anything else (app messages, other events) | skipped with the reason |
A follow's event_id is ``<CorpID>:<ChangeType>:<UserID>:<ExternalUserID>:<CreateTime>`` (every event comes
``FromUserName=sys``, so the documented FromUserName + CreateTime would not tell two apart), stable across
WeCom's retries. The 微信客服 callback only announces messages: the receiver passes the pull to
``ingest.webhooks.wecom_kf`` and maps what it fetches with ``ingest.adapters.wecom_kf``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from ingest.adapters.base import Delivery, Pull, Skipped, WebhookReply, WebhookRequest
from ingest.codec import event_from_dict
from ingest.contracts import EventKind, Platform
from ingest.exceptions import InvalidEvent
from ingest.webhooks.wechat_crypto import CallbackToken, EncodingAesKey, aes_key
from ingest.webhooks.wechat_signed import check_signed, open_ciphertext, open_envelope, require
from ingest.webhooks.wechat_xml import XmlFields, optional_text, required_text, unix_time

ACK = WebhookReply()
"""HTTP 200, empty body: the answer to every accepted callback, dead-lettered ones included."""
DEAD_LETTER_REPLY = ACK
DEAD_LETTER_HEADERS = ("content-type", "user-agent")
"""Headers worth keeping beside a dead-lettered body (WeCom signs in the query string, not in headers)."""

METHOD_NOT_ALLOWED = WebhookReply(status=405, body=b"method not allowed")

KF_SYNC_MSG = "wecom.kf.sync_msg"
"""``Pull.api`` of a 微信客服 announcement; params ``token`` and (newer callbacks) ``open_kfid``."""

_FOLLOWS = frozenset({"add_external_contact", "add_half_external_contact"})
_SKIPPED_CHANGES = {
    "edit_external_contact": "a member edited the customer's remark or tags: a staff action",
    "del_external_contact": "a member removed the customer: a staff action",
    "transfer_fail": "a customer hand-over between members failed: a staff action",
    "del_follow_user": "the customer removed the member (an unfollow): SocialEvent v1 has no unfollow kind",
}


class WeComConfig(BaseModel):
    """One WeCom connector: what is pasted into the app's 接收消息 / the 微信客服 API callback settings."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=128, description="the connector's name, used as `source`")
    corp_id: str = Field(min_length=1, max_length=64, description="企业ID (CorpID), the receiver id")
    token: CallbackToken = Field(description="the callback's Token")
    encoding_aes_key: EncodingAesKey = Field(description="the callback's EncodingAESKey (43 characters)")
    secret: SecretStr | None = Field(
        default=None, description="the Secret whose access token may call 微信客服 (needed for the kf pull)"
    )
    brand: str | None = Field(default=None, max_length=256)
    timestamp_window: timedelta = Field(default=timedelta(minutes=5), ge=timedelta(0))



    @property
    def key(self) -> bytes:
        """The AES key."""
        return aes_key(self.encoding_aes_key.get_secret_value())


def handle(request: WebhookRequest, config: WeComConfig) -> Delivery:
    """Verify and read one request to the WeCom callback URL.

    Pure and idempotent. Raises ``SignatureRejected`` for a missing or wrong signature, a stale timestamp,
    an unreadable envelope or a ciphertext for another CorpID (store nothing, count it), and
    ``InvalidEvent`` for a signed message that cannot be read (dead-letter it and answer ``ACK``)."""
    method = request.method.upper()
    if method == "GET":
        return _verify_url(request, config)
    if method != "POST":
        return Delivery(reply=METHOD_NOT_ALLOWED)
    fields = open_envelope(request.query, request.body, token=config.token.get_secret_value(), key=config.key,
                           receiver_id=config.corp_id, received_at=request.received_at,
                           window=config.timestamp_window)
    return _deliver(fields, config, request.received_at)


def _verify_url(request: WebhookRequest, config: WeComConfig) -> Delivery:
    given, timestamp, nonce, echostr = require(request.query, "msg_signature", "timestamp", "nonce", "echostr")
    check_signed(given, (config.token.get_secret_value(), timestamp, nonce, echostr), timestamp=timestamp,
                 received_at=request.received_at, window=config.timestamp_window)
    try:
        plain = open_ciphertext(echostr, key=config.key, receiver_id=config.corp_id, where="echostr")
    except InvalidEvent as exc:
        return Delivery(reply=WebhookReply(status=400, body=f"echostr: {exc.reason}".encode()))
    return Delivery(reply=WebhookReply(body=plain))


def _deliver(fields: XmlFields, config: WeComConfig, received_at: datetime) -> Delivery:
    msg_type = required_text(fields, "MsgType")
    if msg_type != "event":
        return _skip(f"MsgType={msg_type}", "a message to the app (from a member), not a customer interaction")
    event = required_text(fields, "Event")
    if event == "change_external_contact":
        return _contact_change(fields, config, received_at)
    if event == "kf_msg_or_event":
        params = {"token": required_text(fields, "Token")}
        open_kfid = optional_text(fields, "OpenKfId")
        if open_kfid:
            params["open_kfid"] = open_kfid.strip()
        return Delivery(reply=ACK, pulls=(Pull(api=KF_SYNC_MSG, params=params),))
    return _skip(f"Event={event}", "an event this adapter does not map")


def _contact_change(fields: XmlFields, config: WeComConfig, received_at: datetime) -> Delivery:
    change = required_text(fields, "ChangeType")
    if change not in _FOLLOWS:
        reason = _SKIPPED_CHANGES.get(change, "a customer-contact change this adapter does not map")
        return _skip(f"Event=change_external_contact ChangeType={change}", reason)
    external = required_text(fields, "ExternalUserID")
    created = required_text(fields, "CreateTime")
    member = (optional_text(fields, "UserID") or "").strip()
    event = event_from_dict({
        "event_id": f"{config.corp_id}:{change}:{member}:{external}:{created}",
        "platform": Platform.WECOM,
        "kind": EventKind.FOLLOW,
        "occurred_at": unix_time(created, "CreateTime"),
        "received_at": received_at,
        "author": {"id": external},
        "brand": config.brand,
        "source": config.name,
        "raw": fields,
    })
    return Delivery(events=(event,), reply=ACK)


def _skip(what: str, reason: str) -> Delivery:
    return Delivery(skipped=(Skipped(what, reason),), reply=ACK)
