"""The simulated stream as the push platforms deliver it: signed webhook requests, for the demo to post through
the same receivers and adapters as real deliveries.

``native_request(event, connectors, nonce)`` renders one simulated ``SocialEvent`` as the request its
platform would send to the brand's webhook, or returns ``None`` when the platform would not push it (then the
demo publishes the event as JSON, as a poller or an import would):

| platform | pushed kinds | request |
|---|---|---|
| wechat | chat_message (text), follow (subscribe) | 公众号 safe-mode XML: AES-256-CBC ``<Encrypt>``, ``msg_signature`` |
| facebook | comment, reply, like, share, mention | Page ``feed`` / ``mention`` change, ``X-Hub-Signature-256`` |
| instagram | comment, reply | ``comments`` change, ``X-Hub-Signature-256`` |
| douyin | comment, reply, like, follow | ``item_comment_reply`` / ``new_video_digg`` / ``new_follow_action``, ``X-Douyin-Signature`` |

Not pushed: posts (the brand finds them by search), events without a brand (not addressed to one), and
events carrying identity hints (the demo keeps those as CRM-style JSON so its cross-platform merges still
happen: a real push carries no e-mail or phone). The adapter maps a rendered request back to an event with
the same platform, kind, author, text and brand (a simulated "reply" straight to a post is, natively, a
comment), and ``occurred_at`` to the second (the platforms send Unix seconds); the event id is the platform's (``MsgId``, comment id, ...), not the simulator's.

Pure: ``nonce`` (16 bytes) seeds the WeChat cipher's random prefix and the query nonce, so the same inputs
give the same request bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from pydantic import SecretStr

from ingest.adapters.base import WebhookRequest
from ingest.adapters.douyin import DouyinConnector
from ingest.adapters.meta import MetaConnector
from ingest.adapters.wechat import WeChatConfig
from ingest.contracts import EventKind, Platform, SocialEvent
from ingest.webhooks.wechat_crypto import encrypt, signature

PUSH_PLATFORMS = (Platform.WECHAT, Platform.FACEBOOK, Platform.INSTAGRAM, Platform.DOUYIN)

_PUSHED: dict[Platform, frozenset[EventKind]] = {
    Platform.WECHAT: frozenset({EventKind.CHAT_MESSAGE, EventKind.FOLLOW}),
    Platform.FACEBOOK: frozenset(
        {EventKind.COMMENT, EventKind.REPLY, EventKind.LIKE, EventKind.SHARE, EventKind.MENTION}
    ),
    Platform.INSTAGRAM: frozenset({EventKind.COMMENT, EventKind.REPLY}),
    Platform.DOUYIN: frozenset({EventKind.COMMENT, EventKind.REPLY, EventKind.LIKE, EventKind.FOLLOW}),
}


@dataclass(frozen=True)
class DemoConnectors:
    """The push connectors of one brand in the demo, with secrets made for this run."""

    brand: str
    wechat: WeChatConfig
    meta: MetaConnector
    douyin: DouyinConnector

    @classmethod
    def create(cls, brand: str, secret: bytes) -> DemoConnectors:
        """Connectors named ``demo-<platform>-<brand>`` whose secrets derive from ``secret`` (pass
        ``os.urandom(32)``; fixed bytes in tests)."""

        def derive(label: str) -> str:
            return hmac.new(secret, f"{brand}/{label}".encode(), hashlib.sha256).hexdigest()

        aes = (derive("aes") + derive("aes2"))[:43]  # 43 hex characters are a valid EncodingAESKey
        return cls(
            brand=brand,
            wechat=WeChatConfig(name=f"demo-wechat-{brand}", token=SecretStr(derive("token")[:32]),
                                app_id=f"wx{derive('app')[:16]}", encoding_aes_key=SecretStr(aes), brand=brand),
            meta=MetaConnector(name=f"demo-meta-{brand}", brand=brand, app_secret=SecretStr(derive("meta")),
                               verify_token=SecretStr(derive("verify"))),
            douyin=DouyinConnector(name=f"demo-douyin-{brand}", brand=brand,
                                   client_secret=SecretStr(derive("douyin"))),
        )


    def connectors_toml(self) -> str:
        """These connectors as a connectors file (docs/connectors.md), secrets included: for tests, the
        benchmark and the demo, never for a real deployment."""
        wechat, meta, douyin = self.wechat, self.meta, self.douyin
        assert wechat.encoding_aes_key is not None
        return (
            f'[connectors.{wechat.name}]\nplatform = "wechat"\nbrand = "{self.brand}"\n'
            f'token = "{wechat.token.get_secret_value()}"\napp_id = "{wechat.app_id}"\n'
            f'encoding_aes_key = "{wechat.encoding_aes_key.get_secret_value()}"\n\n'
            f'[connectors.{meta.name}]\nplatform = "meta"\nbrand = "{self.brand}"\n'
            f'app_secret = "{meta.app_secret.get_secret_value()}"\n'
            f'verify_token = "{meta.verify_token.get_secret_value()}"\n\n'
            f'[connectors.{douyin.name}]\nplatform = "douyin"\nbrand = "{self.brand}"\n'
            f'client_secret = "{douyin.client_secret.get_secret_value()}"\n'
        )


@dataclass(frozen=True)
class NativeRequest:
    """A rendered delivery: the connector it is addressed to (``/v1/ingest/webhooks/<connector>``) and the
    request."""

    connector: str
    request: WebhookRequest


def native_request(
    event: SocialEvent, connectors: dict[str, DemoConnectors], *, sent_at: datetime, nonce: bytes
) -> NativeRequest | None:
    """``event`` as its platform's signed webhook request to the brand's connector, sent (and signed, where
    the platform signs a timestamp) at ``sent_at``, or ``None`` when the platform would not push it (see the
    module table). ``connectors`` maps brand -> its connectors."""
    pushed = _PUSHED.get(event.platform)
    if pushed is None or event.kind not in pushed or event.brand is None or event.brand not in connectors:
        return None
    hints = event.identity_hints
    if any(getattr(hints, name) for name in type(hints).model_fields):
        return None
    brand = connectors[event.brand]
    if event.platform is Platform.WECHAT:
        return NativeRequest(brand.wechat.name, _wechat(event, brand.wechat, sent_at, nonce))
    if event.platform is Platform.DOUYIN:
        return NativeRequest(brand.douyin.name, _douyin(event, brand.douyin, sent_at))
    return NativeRequest(brand.meta.name, _meta(event, brand.meta, sent_at))


def _unix(at: datetime) -> int:
    return int(at.timestamp())


def _wechat(event: SocialEvent, config: WeChatConfig, sent_at: datetime, nonce: bytes) -> WebhookRequest:
    account = f"gh_{config.app_id[2:14]}"
    created = _unix(event.occurred_at)
    fields: dict[str, str] = {"ToUserName": account, "FromUserName": event.author.id, "CreateTime": str(created)}
    if event.kind is EventKind.FOLLOW:
        fields |= {"MsgType": "event", "Event": "subscribe"}
    else:
        digits = int.from_bytes(hashlib.sha256(event.event_id.encode()).digest()[:7], "big")
        fields |= {"MsgType": "text", "Content": event.text or "", "MsgId": str(digits)}
    inner = "<xml>" + "".join(f"<{k}>{escape(v)}</{k}>" for k, v in fields.items()) + "</xml>"
    key = config.key
    assert key is not None  # demo connectors are always in safe mode
    ciphertext = encrypt(inner.encode(), key=key, receiver_id=config.app_id, random16=nonce[:16])
    timestamp, query_nonce = str(_unix(sent_at)), nonce.hex()[:10]
    body = f"<xml><ToUserName><![CDATA[{account}]]></ToUserName><Encrypt><![CDATA[{ciphertext}]]></Encrypt></xml>"
    msg_signature = signature(config.token.get_secret_value(), timestamp, query_nonce, ciphertext)
    query = {"timestamp": timestamp, "nonce": query_nonce, "encrypt_type": "aes", "msg_signature": msg_signature,
             "openid": event.author.id,
             "signature": signature(config.token.get_secret_value(), timestamp, query_nonce)}
    return WebhookRequest(method="POST", query=query, headers={"content-type": "text/xml"},
                          body=body.encode(), received_at=sent_at)


def _meta(event: SocialEvent, connector: MetaConnector, sent_at: datetime) -> WebhookRequest:
    page = f"page-{connector.brand}"
    when = _unix(event.occurred_at)
    person = {"id": event.author.id, "name": event.author.display_name or event.author.handle or event.author.id}
    post_id = event.thread_id or event.parent_id or f"{page}_{event.event_id}"
    obj, field, value = "page", "feed", dict[str, Any]()
    if event.platform is Platform.INSTAGRAM:
        obj, field = "instagram", "comments"
        value = {"id": event.event_id, "from": {"id": event.author.id, "username": event.author.handle or ""},
                 "text": event.text or "", "media": {"id": post_id}, "timestamp": when}
        if event.kind is EventKind.REPLY and event.parent_id and event.parent_id != post_id:
            value["parent_id"] = event.parent_id
    elif event.kind is EventKind.MENTION:
        field = "mention"
        value = {"item": "post", "verb": "add", "post_id": f"{event.author.id}_{event.event_id}",
                 "sender_id": event.author.id, "sender_name": person["name"], "message": event.text or "",
                 "created_time": when}
    elif event.kind is EventKind.LIKE:
        value = {"item": "reaction", "verb": "add", "reaction_type": "like", "post_id": post_id,
                 "from": person, "created_time": when}
    elif event.kind is EventKind.SHARE:
        value = {"item": "share", "verb": "add", "share_id": event.event_id, "post_id": post_id,
                 "from": person, "message": event.text or "", "link": event.url or "", "created_time": when}
    else:
        value = {"item": "comment", "verb": "add", "comment_id": event.event_id, "post_id": post_id,
                 "from": person, "message": event.text or "", "created_time": when}
        if event.kind is EventKind.REPLY and event.parent_id and event.parent_id != post_id:
            value["parent_id"] = event.parent_id
    delivery = {"object": obj, "entry": [{"id": page, "time": when, "changes": [{"field": field, "value": value}]}]}
    body = json.dumps(delivery, ensure_ascii=True, separators=(",", ":")).encode()
    mac = hmac.new(connector.app_secret.get_secret_value().encode(), body, hashlib.sha256).hexdigest()
    return WebhookRequest(method="POST", query={}, received_at=sent_at, body=body,
                          headers={"content-type": "application/json", "x-hub-signature-256": f"sha256={mac}"})


def _douyin(event: SocialEvent, connector: DouyinConnector, sent_at: datetime) -> WebhookRequest:
    account = f"brand-{connector.brand}"
    when = _unix(event.occurred_at)
    item = event.thread_id or event.parent_id or event.event_id
    content: dict[str, Any]
    if event.kind is EventKind.FOLLOW:
        name, content = "new_follow_action", {"action_type": 1, "action_time": when}
    elif event.kind is EventKind.LIKE:
        name, content = "new_video_digg", {"action_type": 1, "action_time": when, "item_id": item}
    else:
        name = "item_comment_reply"
        content = {"comment_id": event.event_id, "comment_user_id": event.author.id, "content": event.text or "",
                   "create_time": when, "reply_to_item_id": item, "digg_count": 0, "reply_comment_total": 0}
        if event.kind is EventKind.REPLY and event.parent_id and event.parent_id != item:
            content["reply_to_comment_id"] = event.parent_id
    payload = {"event": name, "from_user_id": event.author.id, "to_user_id": account,
               "client_key": f"aw{connector.brand}", "content": json.dumps(content, ensure_ascii=False),
               "log_id": hashlib.sha1(event.event_id.encode()).hexdigest()[:20]}
    body = json.dumps(payload, ensure_ascii=False).encode()
    sign = hashlib.sha1(connector.client_secret.get_secret_value().encode() + body).hexdigest()
    return WebhookRequest(method="POST", query={}, received_at=sent_at, body=body,
                          headers={"content-type": "application/json", "x-douyin-signature": sign,
                                   "msg-id": hashlib.md5(body).hexdigest()})

