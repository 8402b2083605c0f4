"""WeChat Official Account (公众号) message push -> ``SocialEvent``s. Pure: ``handle(request, config)``.

The platform's documentation: 基础消息能力 / 接收普通消息, 接收事件推送, 消息加解密说明 and 接入指南 at
https://developers.weixin.qq.com/doc/offiaccount/ (Message_Management/Receiving_standard_messages.html,
Message_Management/Receiving_event_pushes.html, Basic_Information/Access_Overview.html).

Requests
- ``GET ?signature&timestamp&nonce&echostr`` (server verification, sent when the URL is saved):
  ``signature = sha1(sorted(token, timestamp, nonce))``; answered with ``echostr`` verbatim.
- ``POST ?signature&timestamp&nonce&openid`` with an XML message (plain mode: the signature does not
  cover the body), or with ``&encrypt_type=aes&msg_signature`` and ``<xml><ToUserName/><Encrypt/></xml>``
  (safe mode; compatibility mode sends the plaintext beside ``Encrypt``, and only the ciphertext, which
  ``msg_signature`` covers, is read). The ciphertext must name the configured AppID.
- The signed ``timestamp`` must be within ``timestamp_window`` (default 5 minutes) of ``received_at``, so
  a captured request cannot be replayed later. WeChat sends a push at once and its retries within about
  15 seconds, so 5 minutes tolerates clock skew and slow networks, not old captures. (Within the window a
  replay is still accepted; it repeats an event id, so it counts once downstream.)

Replies: ``success`` (HTTP 200) to every accepted POST, mapped or skipped, and to a dead-lettered one too
(``ACK``): WeChat retries an unanswered push three times within about 15 seconds, then tells the user the
account cannot serve them, and never re-sends a message it got ``success`` for. A refused signature gets
401 (403 for a ciphertext addressed to another AppID); WeChat's retries of it are refused the same way.

Mapping (platform ``wechat``, author id = ``FromUserName``, the openid; identity key ``wechat:<openid>``)
| push | kind | text | url | event_id |
|---|---|---|---|---|
| text | chat_message | Content | - | MsgId |
| image | chat_message | - | PicUrl | MsgId |
| voice | chat_message | Recognition (speech-to-text), if sent | - | MsgId |
| video, shortvideo | chat_message | - | - | MsgId |
| location | chat_message | Label (the place's name) | - | MsgId |
| link | chat_message | Title + newline + Description | Url | MsgId |
| event subscribe (incl. qrscene_) | follow | - | - | FromUserName:CreateTime:subscribe[:EventKey] |
| event unsubscribe | unfollow | - | - | FromUserName:CreateTime:unsubscribe |
``text`` is what the message shows, never a placeholder such as "[image]" (that would be scored as words);
media ids, coordinates and scene keys stay in ``raw``. ``parent_id`` is ``MsgDataId`` when a message
comes from an article; a message's ``thread_id`` is ``ToUserName:FromUserName`` (the person's chat with the
account). An ``unfollow`` withdraws the person's contact and marketing consent downstream
(docs/consent.md). Skipped with a reason (counted, no event): ``SCAN`` (a follower scanned a parametric QR code:
channel attribution, not an interaction), ``CLICK`` / ``VIEW`` (menu navigation, nothing said),
``LOCATION`` (an automatic report), any other event or message type.

Event ids are what WeChat's documentation says to de-duplicate retries by (MsgId for messages,
FromUserName + CreateTime for events; the event name and key keep two events of one second apart), so a
retried push becomes the same ``event_id`` and counts once downstream. ``raw`` is the message's fields
(decrypted in safe mode); ``source`` is the connector's name; identity hints stay empty (a push carries no
unionid).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from ingest.adapters.base import Delivery, Skipped, WebhookReply, WebhookRequest
from ingest.codec import event_from_dict
from ingest.contracts import EventKind, Platform, SocialEvent
from ingest.webhooks.wechat_crypto import CallbackToken, EncodingAesKey, aes_key
from ingest.webhooks.wechat_signed import check_signed, open_envelope, require
from ingest.webhooks.wechat_xml import XmlFields, optional_text, parse_xml, required_text, unix_time

ACK = WebhookReply(body=b"success")
"""The answer to every accepted push, dead-lettered ones included: WeChat then stops retrying."""
DEAD_LETTER_REPLY = ACK
DEAD_LETTER_HEADERS = ("content-type", "user-agent")
"""Headers worth keeping beside a dead-lettered body (WeChat signs in the query string, not in headers)."""

METHOD_NOT_ALLOWED = WebhookReply(status=405, body=b"method not allowed")


class WeChatConfig(BaseModel):
    """One Official Account connector: what is pasted into 设置与开发 -> 基本配置 -> 服务器配置."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=128, description="the connector's name, used as `source`")
    token: CallbackToken = Field(description="服务器配置 Token (3-32 letters or digits)")
    app_id: str = Field(min_length=1, max_length=64, description="the account's AppID (开发者ID)")
    encoding_aes_key: EncodingAesKey | None = Field(
        default=None, description="服务器配置 EncodingAESKey (43 characters); needed for safe/compatible mode"
    )
    brand: str | None = Field(default=None, max_length=256)
    timestamp_window: timedelta = Field(default=timedelta(minutes=5), ge=timedelta(0))



    @property
    def key(self) -> bytes | None:
        """The AES key, ``None`` for a plain-mode connector."""
        return None if self.encoding_aes_key is None else aes_key(self.encoding_aes_key.get_secret_value())


def handle(request: WebhookRequest, config: WeChatConfig) -> Delivery:
    """Verify and read one request to the Official Account's server URL.

    Pure and idempotent (the same request gives the same delivery). Raises ``SignatureRejected`` for a
    missing or wrong signature, a stale timestamp or a ciphertext for another AppID (store nothing, count
    it), and ``InvalidEvent`` for a signed body that cannot be read (dead-letter it and answer ``ACK``)."""
    method = request.method.upper()
    if method == "GET":
        return _verify_url(request, config)
    if method != "POST":
        return Delivery(reply=METHOD_NOT_ALLOWED)
    fields = _open(request, config)
    return _deliver(fields, config, request.received_at)


def _verify_url(request: WebhookRequest, config: WeChatConfig) -> Delivery:
    given, timestamp, nonce = require(request.query, "signature", "timestamp", "nonce")
    check_signed(given, (config.token.get_secret_value(), timestamp, nonce), timestamp=timestamp,
                 received_at=request.received_at, window=config.timestamp_window)
    echostr = request.query.get("echostr", "")
    if not echostr:
        return Delivery(reply=WebhookReply(status=400, body=b"missing echostr"))
    return Delivery(reply=WebhookReply(body=echostr.encode("utf-8")))


def _open(request: WebhookRequest, config: WeChatConfig) -> XmlFields:
    token = config.token.get_secret_value()
    if request.query.get("encrypt_type", "").lower() == "aes":
        return open_envelope(request.query, request.body, token=token, key=config.key,
                             receiver_id=config.app_id, received_at=request.received_at,
                             window=config.timestamp_window)
    given, timestamp, nonce = require(request.query, "signature", "timestamp", "nonce")
    check_signed(given, (token, timestamp, nonce), timestamp=timestamp, received_at=request.received_at,
                 window=config.timestamp_window)
    return parse_xml(request.body)


def _deliver(fields: XmlFields, config: WeChatConfig, received_at: datetime) -> Delivery:
    msg_type = required_text(fields, "MsgType")
    if msg_type == "event":
        return _event(fields, config, received_at)
    content = _CONTENT.get(msg_type)
    if content is None:
        return Delivery(skipped=(Skipped(f"MsgType={msg_type}", "a message type this adapter does not map"),),
                        reply=ACK)
    text, url = content(fields)
    account = optional_text(fields, "ToUserName")
    thread = f"{account.strip()}:{required_text(fields, 'FromUserName')}" if account else None
    event = _social_event(fields, config, received_at, event_id=required_text(fields, "MsgId"),
                          kind=EventKind.CHAT_MESSAGE, text=text, url=url, thread_id=thread)
    return Delivery(events=(event,), reply=ACK)


def _event(fields: XmlFields, config: WeChatConfig, received_at: datetime) -> Delivery:
    name = required_text(fields, "Event")
    kind = _FOLLOWS.get(name.lower())
    if kind is None:
        reason = _SKIPPED_EVENTS.get(name.lower(), "an event this adapter does not map")
        return Delivery(skipped=(Skipped(f"Event={name}", reason),), reply=ACK)
    openid = required_text(fields, "FromUserName")
    created = required_text(fields, "CreateTime")
    key = optional_text(fields, "EventKey") if kind is EventKind.FOLLOW else None
    event_id = f"{openid}:{created}:{name.lower()}" + (f":{key.strip()}" if key else "")
    event = _social_event(fields, config, received_at, event_id=event_id, kind=kind)
    return Delivery(events=(event,), reply=ACK)


def _social_event(
    fields: XmlFields,
    config: WeChatConfig,
    received_at: datetime,
    *,
    event_id: str,
    kind: EventKind,
    text: str | None = None,
    url: str | None = None,
    thread_id: str | None = None,
) -> SocialEvent:
    return event_from_dict({
        "event_id": event_id,
        "platform": Platform.WECHAT,
        "kind": kind,
        "occurred_at": unix_time(required_text(fields, "CreateTime"), "CreateTime"),
        "received_at": received_at,
        "author": {"id": required_text(fields, "FromUserName")},
        "brand": config.brand,
        "text": text,
        "url": url,
        "parent_id": optional_text(fields, "MsgDataId"),
        "thread_id": thread_id,
        "source": config.name,
        "raw": fields,
    })


def _text(fields: XmlFields) -> tuple[str | None, str | None]:
    return optional_text(fields, "Content"), None


def _image(fields: XmlFields) -> tuple[str | None, str | None]:
    return None, optional_text(fields, "PicUrl")


def _voice(fields: XmlFields) -> tuple[str | None, str | None]:
    return optional_text(fields, "Recognition"), None


def _media(fields: XmlFields) -> tuple[str | None, str | None]:
    return None, None


def _location(fields: XmlFields) -> tuple[str | None, str | None]:
    return optional_text(fields, "Label"), None


def _link(fields: XmlFields) -> tuple[str | None, str | None]:
    parts = [part for part in (optional_text(fields, "Title"), optional_text(fields, "Description")) if part]
    return "\n".join(parts) or None, optional_text(fields, "Url")


_CONTENT: dict[str, Callable[[XmlFields], tuple[str | None, str | None]]] = {
    "text": _text,
    "image": _image,
    "voice": _voice,
    "video": _media,
    "shortvideo": _media,
    "location": _location,
    "link": _link,
}
"""Each mapped message type and how it gives ``(text, url)``."""

_FOLLOWS = {"subscribe": EventKind.FOLLOW, "unsubscribe": EventKind.UNFOLLOW}
"""The events that become events, by lower-case name."""
_SKIPPED_EVENTS = {
    "scan": "a follower scanned a parametric QR code: channel attribution, not an interaction",
    "click": "a menu tap: navigation, nothing the person said",
    "view": "a menu link opened: navigation, nothing the person said",
    "location": "an automatic location report, not an action",
}
"""Why each known event (by lower-case name) is skipped."""
