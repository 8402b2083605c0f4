"""微信客服 messages fetched with ``kf/sync_msg`` -> ``SocialEvent``s. Pure:
``events_from_kf_messages(msg_list, config, received_at)``.

The platform's documentation: 微信客服 接收消息和事件, https://developer.work.weixin.qq.com/document/path/94670
(读取消息: ``msg_list`` items with ``msgid``, ``open_kfid``, ``external_userid``, ``send_time``, ``origin``,
``msgtype`` and one object named after the msgtype).

Mapping (platform ``wecom``, author id = ``external_userid``, event_id = ``msgid``, occurred_at =
``send_time``, thread_id = ``open_kfid`` + ``external_userid`` (one customer's conversation with one
客服 account), raw = the item). Only ``origin`` 3 (sent by the customer) becomes an event:
| msgtype | text | url |
|---|---|---|
| text | text.content | - |
| image, voice, video, file, business_card | - | - |
| location | location.name + newline + location.address | - |
| link | link.title + newline + link.desc | link.url |
| miniprogram | miniprogram.title | - |
Skipped with a reason: origin 4 (system events: session entered or changed, send failures), origin 5
(the servicer's own messages), other message types. An item that cannot be read is returned in
``KfBatch.invalid`` with its JSON bytes, for the caller to dead-letter, and the rest of the page goes on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ingest.adapters.base import InvalidItem, Skipped
from ingest.adapters.wecom import WeComConfig
from ingest.codec import event_from_dict
from ingest.contracts import EventKind, Platform, SocialEvent
from ingest.exceptions import InvalidEvent
from ingest.webhooks.wechat_xml import unix_time

CUSTOMER = 3
"""``origin`` of a message the customer sent (4: a system event, 5: the servicer in the WeCom client)."""

_ORIGINS = {4: "a system event (session entered or changed, a send failure), not a customer message",
            5: "sent by the servicer in the WeCom client, not by the customer"}


@dataclass(frozen=True, slots=True)
class KfBatch:
    """What a page (or several) of ``msg_list`` became, in order."""

    events: tuple[SocialEvent, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    invalid: tuple[InvalidItem, ...] = ()


def events_from_kf_messages(messages: Sequence[Any], config: WeComConfig, received_at: datetime) -> KfBatch:
    """Map ``msg_list`` items to events; pure, and the same items give the same events (ids are msgids).
    Never raises for bad input: unreadable items come back in ``invalid``."""
    events: list[SocialEvent] = []
    skipped: list[Skipped] = []
    invalid: list[InvalidItem] = []
    for n, item in enumerate(messages):
        where = f"msg_list[{n}]"
        try:
            outcome = _one(item, where, config, received_at)
        except InvalidEvent as exc:
            invalid.append(InvalidItem(json.dumps(item, ensure_ascii=False, default=str).encode("utf-8"), exc))
            continue
        if isinstance(outcome, Skipped):
            skipped.append(outcome)
        else:
            events.append(outcome)
    return KfBatch(tuple(events), tuple(skipped), tuple(invalid))


def _one(item: Any, where: str, config: WeComConfig, received_at: datetime) -> SocialEvent | Skipped:
    if not isinstance(item, Mapping):
        raise InvalidEvent(where, f"expected an object, got {type(item).__name__}")
    msgtype = _text(item, "msgtype", where, required=True)
    origin = item.get("origin")
    if origin != CUSTOMER:
        reason = _ORIGINS.get(origin, "an origin this adapter does not know") if isinstance(origin, int) else (
            "no origin")
        return Skipped(f"{where} msgtype={msgtype} origin={origin}", reason)
    content = _CONTENT.get(str(msgtype))
    if content is None:
        return Skipped(f"{where} msgtype={msgtype}", "a message type this adapter does not map")
    body = item.get(str(msgtype))
    text, url = content(body if isinstance(body, Mapping) else {})
    external = _text(item, "external_userid", where, required=True)
    open_kfid = _text(item, "open_kfid", where)
    return event_from_dict({
        "event_id": _text(item, "msgid", where, required=True),
        "platform": Platform.WECOM,
        "kind": EventKind.CHAT_MESSAGE,
        "occurred_at": unix_time(item.get("send_time", ""), f"{where}.send_time"),
        "received_at": received_at,
        "author": {"id": external},
        "brand": config.brand,
        "text": text,
        "url": url,
        "thread_id": f"{open_kfid}:{external}" if open_kfid else None,
        "source": config.name,
        "raw": dict(item),
    })


def _text(item: Mapping[str, Any], name: str, where: str, *, required: bool = False) -> str | None:
    value = item.get(name)
    if isinstance(value, str) and value.strip():
        return value.strip()
    if required:
        raise InvalidEvent(f"{where}.{name}", "missing" if value is None else "expected a non-empty string")
    return None


def _joined(body: Mapping[str, Any], *names: str) -> str | None:
    parts = [body[name] for name in names if isinstance(body.get(name), str) and body[name].strip()]
    return "\n".join(parts) or None


def _plain_text(body: Mapping[str, Any]) -> tuple[str | None, str | None]:
    return _joined(body, "content"), None


def _media(body: Mapping[str, Any]) -> tuple[str | None, str | None]:
    return None, None


def _location(body: Mapping[str, Any]) -> tuple[str | None, str | None]:
    return _joined(body, "name", "address"), None


def _link(body: Mapping[str, Any]) -> tuple[str | None, str | None]:
    url = body.get("url")
    return _joined(body, "title", "desc"), url if isinstance(url, str) and url.strip() else None


def _miniprogram(body: Mapping[str, Any]) -> tuple[str | None, str | None]:
    return _joined(body, "title"), None


_CONTENT: dict[str, Callable[[Mapping[str, Any]], tuple[str | None, str | None]]] = {
    "text": _plain_text,
    "image": _media,
    "voice": _media,
    "video": _media,
    "file": _media,
    "business_card": _media,
    "location": _location,
    "link": _link,
    "miniprogram": _miniprogram,
}
"""Each mapped msgtype and how its object gives ``(text, url)``."""
