"""Douyin open platform webhooks (抖音开放平台 Webhooks) -> ``SocialEvent``s.

Pure: ``handle(request, connector)`` turns one ``WebhookRequest`` into a ``Delivery``.
- Every request is a POST of one JSON event ``{"event", "from_user_id", "to_user_id", "client_key",
  "content", "log_id"?}``; ``content`` is an object or a JSON-encoded string, depending on the event.
- ``X-Douyin-Signature`` must be the hex SHA-1 of ``client_secret + body`` (the exact bytes); missing or
  wrong raises ``SignatureRejected`` (401). Douyin signs no timestamp, so there is nothing stale to refuse;
  a replayed genuine event gives the same event id and counts once. The URL check (``verify_webhook``) is
  signed like any event and is answered ``{"challenge": <the value sent>}``.
- ``im_receive_msg`` / ``im_group_receive_msg`` (a private / fan-group message to the authorized account)
  -> ``chat_message``, id ``content.server_message_id``; ``item_comment_reply`` (a comment on one of its
  videos, or a reply) -> ``comment`` / ``reply``, id ``content.comment_id``; ``new_follow_action`` ->
  ``follow`` and ``new_video_digg`` -> ``like``, which carry no id of their own: ``follow:<from>:<to>:<time>``
  and ``digg:<from>:<item>:<time>``. Where a message or comment id is missing, the ``Msg-Id`` header
  (which Douyin documents as the key to de-duplicate its retries) stands in. Other events are skipped with
  the reason; a known event that cannot be read raises ``InvalidEvent`` (dead-letter it, answer 200).

Douyin drops the connection after 5 s and retries 3 times, and may cancel a subscription whose endpoint
keeps failing: the receiver must answer 200 at once (``Delivery.reply``), dead letters included.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from ingest.adapters.base import Delivery, SignatureRejected, Skipped, WebhookReply, WebhookRequest
from ingest.adapters.json_payload import (
    bounded_raw,
    bounded_text,
    epoch,
    list_of,
    load_json,
    mapping_of,
    text_of,
)
from ingest.codec import event_from_dict
from ingest.contracts import EventKind, Platform, SocialEvent
from ingest.exceptions import InvalidEvent

SIGNATURE_HEADER = "x-douyin-signature"
MSG_ID_HEADER = "msg-id"
ACK = WebhookReply(status=200)
DEAD_LETTER_REPLY = WebhookReply(status=200)
"""An unreadable signed event is answered 200 too: Douyin would retry it, then may drop the subscription."""
DEAD_LETTER_HEADERS = ("content-type", MSG_ID_HEADER, SIGNATURE_HEADER)
"""Headers worth keeping beside a dead-lettered body (the signature is a hash, not the secret)."""

_IGNORED = {
    "im_send_msg": "a private message the authorized (brand) account sent",
    "im_group_send_msg": "a group message the authorized (brand) account sent",
    "im_enter_direct_msg": "the person opened the chat page; no message yet",
    "im_recall_msg": "a message withdrawn after it was recorded; SocialEvent v1 cannot retract",
    "create_video": "a video the authorized account shared through the app (its own content)",
    "authorize": "an authorization change, not a social interaction",
    "unauthorize": "an authorization change, not a social interaction",
    "contract_authorize": "an authorization change, not a social interaction",
    "contract_unauthorize": "an authorization change, not a social interaction",
}


class DouyinConnector(BaseModel):
    """One Douyin open-platform app's webhook subscription for one brand (控制台 > 开发配置 > Webhooks)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(default="douyin", min_length=1, max_length=128)
    """Written to ``SocialEvent.source``."""
    brand: str | None = Field(default=None, max_length=256)
    client_secret: SecretStr = Field(min_length=1)
    """The app's Client Secret (应用详情 > Client Secret): the key of ``X-Douyin-Signature``."""


@dataclass(frozen=True, slots=True)
class _Event:
    """The envelope of one Douyin event, with its decoded ``content``."""

    request: WebhookRequest
    connector: DouyinConnector
    name: str
    payload: Mapping[str, Any]
    content: Mapping[str, Any]

    def field(self, key: str) -> str | None:
        return text_of(self.payload.get(key))

    def build(self, **fields: Any) -> SocialEvent:
        payload = {
            "platform": Platform.DOUYIN.value,
            "received_at": self.request.received_at,
            "brand": self.connector.brand,
            "source": self.connector.name,
            "raw": bounded_raw(dict(self.payload)),
            **fields,
        }
        return event_from_dict(payload)

    def required_id(self, *candidates: str | None, what: str) -> str:
        """The first present id, else the ``Msg-Id`` header; raises ``InvalidEvent`` naming ``what``."""
        for candidate in (*candidates, text_of(self.request.headers.get(MSG_ID_HEADER))):
            if candidate:
                return candidate
        raise InvalidEvent(what, "missing, and no Msg-Id header to stand in")


def handle(request: WebhookRequest, connector: DouyinConnector) -> Delivery:
    """Verify the signature and turn the event into at most one ``SocialEvent``.

    Pure and idempotent. Raises ``SignatureRejected`` (401) and ``InvalidEvent`` (a signed body that is not
    a readable Douyin event, or a known event missing what it needs).
    """
    _verify_signature(request, connector.client_secret)
    payload = load_json(request.body)
    if not isinstance(payload, dict):
        raise InvalidEvent("<payload>", f"expected a JSON object, got {type(payload).__name__}")
    name = text_of(payload.get("event"))
    if name is None:
        raise InvalidEvent("event", "missing event name")
    if name == "verify_webhook":
        challenge = _content(payload.get("content")).get("challenge")
        if challenge is None:
            raise InvalidEvent("content.challenge", "verify_webhook without a challenge")
        body = json.dumps({"challenge": challenge}, ensure_ascii=False).encode()
        return Delivery(reply=WebhookReply(status=200, body=body, content_type="application/json"))
    reader = _READERS.get(name)
    if reader is None:
        reason = _IGNORED.get(name, f"event {name!r} is not turned into events")
        return Delivery(skipped=(Skipped(f"event={name}", reason),), reply=ACK)
    event = _Event(request, connector, name, payload, _content(payload.get("content")))
    result = reader(event)
    if isinstance(result, Skipped):
        return Delivery(skipped=(result,), reply=ACK)
    return Delivery(events=(result,), reply=ACK)


def _verify_signature(request: WebhookRequest, client_secret: SecretStr) -> None:
    given = request.headers.get(SIGNATURE_HEADER)
    if given is None or not given.strip():
        raise SignatureRejected("missing X-Douyin-Signature header")
    expected = hashlib.sha1(client_secret.get_secret_value().encode() + request.body).hexdigest()
    if not hmac.compare_digest(expected.encode(), given.strip().lower().encode()):
        raise SignatureRejected("X-Douyin-Signature does not match the body")


def _content(value: Any) -> Mapping[str, Any]:
    """``content`` as an object: sent as one, or as a JSON string holding one."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            decoded = json.loads(value)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise InvalidEvent("content", f"not a JSON object string: {exc}") from exc
        if isinstance(decoded, dict):
            return decoded
    raise InvalidEvent("content", f"expected an object or a JSON string of one, got {type(value).__name__}")


def _author_id(*candidates: str | None) -> str:
    for candidate in candidates:
        if candidate:
            return candidate
    raise InvalidEvent("from_user_id", "missing: the event names no author")


def _message(event: _Event) -> SocialEvent:
    content = event.content
    author_id = _author_id(event.field("from_user_id"))
    nick = next(
        (
            text_of(info.get("nick_name"))
            for info in map(mapping_of, list_of(content.get("user_infos")))
            if text_of(info.get("open_id")) == author_id
        ),
        None,
    )
    is_text = text_of(content.get("message_type")) in {None, "text"}
    return event.build(
        event_id=event.required_id(
            text_of(content.get("server_message_id")), what="content.server_message_id"
        ),
        kind=EventKind.CHAT_MESSAGE.value,
        author={"id": author_id, "display_name": nick},
        occurred_at=_occurred_at(event, content.get("create_time")),
        text=bounded_text(content.get("text")) if is_text else None,
        thread_id=text_of(content.get("conversation_short_id")),
    )


def _comment(event: _Event) -> SocialEvent | Skipped:
    content = event.content
    author_id = _author_id(text_of(content.get("comment_user_id")), event.field("from_user_id"))
    if author_id == event.field("to_user_id"):
        return Skipped(f"event={event.name}", "a comment by the authorized (brand) account itself")
    item_id = text_of(content.get("reply_to_item_id"))
    parent_comment = text_of(content.get("reply_to_comment_id"))
    return event.build(
        event_id=event.required_id(text_of(content.get("comment_id")), what="content.comment_id"),
        kind=(EventKind.REPLY if parent_comment else EventKind.COMMENT).value,
        author={"id": author_id},
        occurred_at=_occurred_at(event, content.get("create_time")),
        text=bounded_text(content.get("content")),
        parent_id=parent_comment or item_id,
        thread_id=item_id,
        metrics={
            "likes": _count(content.get("digg_count")),
            "replies": _count(content.get("reply_comment_total")),
        },
    )


def _follow(event: _Event) -> SocialEvent | Skipped:
    return _action(event, EventKind.FOLLOW, "follow", event.field("to_user_id"))


def _digg(event: _Event) -> SocialEvent | Skipped:
    return _action(event, EventKind.LIKE, "digg", text_of(event.content.get("item_id")))


def _action(event: _Event, kind: EventKind, prefix: str, target: str | None) -> SocialEvent | Skipped:
    """A follow or a like: ``action_type`` 1 is the action itself; the id is made from who, what and when."""
    content = event.content
    action_type = text_of(content.get("action_type")) or "1"
    if action_type != "1":
        return Skipped(f"event={event.name}", f"action_type={action_type} is not a new {kind.value}")
    author_id = _author_id(event.field("from_user_id"))
    if target is None:
        raise InvalidEvent("content", f"{event.name} names no target (to_user_id / item_id)")
    action_time = text_of(content.get("action_time")) or ""
    return event.build(
        event_id=f"{prefix}:{author_id}:{target}:{action_time}",
        kind=kind.value,
        author={"id": author_id},
        occurred_at=_occurred_at(event, content.get("action_time")),
        parent_id=target if kind is EventKind.LIKE else None,
        thread_id=target if kind is EventKind.LIKE else None,
    )


def _occurred_at(event: _Event, value: Any) -> datetime:
    return epoch(value) or event.request.received_at


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


_READERS: dict[str, Callable[[_Event], SocialEvent | Skipped]] = {
    "im_receive_msg": _message,
    "im_group_receive_msg": _message,
    "item_comment_reply": _comment,
    "new_follow_action": _follow,
    "new_video_digg": _digg,
}
