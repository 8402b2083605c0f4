"""Delivery channels: message shapes (pure) and senders (blocking network calls).

Shapes follow the platforms' public docs: WeCom group robot ``{"msgtype": "markdown", "markdown":
{"content": ...}}``, DingTalk robot ``{"msgtype": "markdown", "markdown": {"title", "text"}}`` (signed
with ``timestamp`` and ``sign`` query parameters), Feishu bot ``{"msg_type": "post"|"text", "content":
...}`` (signed with ``timestamp`` and ``sign`` in the body), Slack ``{"text", "blocks"}``. A sender raises
``DeliveryFailed`` on a network error, a non-2xx status or an error code in a 200 body; it never retries
(the dispatcher does). HTTP channels share one pool of keep-alive connections (``ChannelSender``): a
delivery to an endpoint called recently skips the TCP and TLS handshakes. Post text is untrusted: it is
sent as data, never interpolated into markup beyond escaping-free plain text fields.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import urllib.parse
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpx

from alerts.contracts import Incident
from alerts.exceptions import DeliveryFailed
from alerts.routing import (
    ChannelConfig,
    DingTalkChannel,
    EmailChannel,
    FeishuChannel,
    SlackChannel,
    SseChannel,
    WebhookChannel,
    WeComChannel,
)

SIGNATURE_HEADER = "X-Scrm-Signature"
TIMESTAMP_HEADER = "X-Scrm-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"


@dataclass(frozen=True)
class Delivery:
    """One message to send: an incident version, why, to which team, with its idempotency key."""

    incident: Incident
    change: str
    route: str
    team: str
    channel: str

    @property
    def idempotency_key(self) -> str:
        return f"{self.incident.incident_id}:{self.incident.version}:{self.channel}"


def sign_webhook(secret: str, timestamp: str, body: bytes) -> str:
    """``v1=`` + hex HMAC-SHA256 of ``"<timestamp>." + body`` (what receivers recompute to verify)."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"v1={digest}"


def summary_lines(delivery: Delivery) -> tuple[str, list[str]]:
    """A title and plain-text lines describing the incident (shared by every chat and email format)."""
    i = delivery.incident
    title = f"[{i.kind.upper()} S{i.severity}] {i.title}"
    lines = [
        f"{delivery.change} · team {delivery.team} · {i.count} alert(s) · state {i.state}"
        + (f" · escalation level {i.escalation_level}" if i.escalation_level else ""),
        f"brand {i.brand or '-'} · topic {i.topic or '-'} · platforms {', '.join(i.platforms) or '-'}",
        f"first seen {i.first_seen.isoformat()} · last seen {i.last_seen.isoformat()}",
    ]
    for post in i.evidence.get("posts", [])[-3:]:
        lines.append(f"> {post.get('author')}: {(post.get('text') or '')[:140]}")
    for scope, numbers in list(i.evidence.get("scopes", {}).items())[:3]:
        lines.append(f"{scope}: {numbers.get('count')} negative vs baseline {numbers.get('baseline_mean')} "
                     f"(threshold {numbers.get('threshold')})")
    if i.suggested_reply:
        lines.append(f"suggested reply: {i.suggested_reply.text}")
    lines.append(f"incident {i.incident_id} v{i.version}")
    return title, lines


def webhook_body(delivery: Delivery) -> dict[str, Any]:
    """The signed webhook's JSON body."""
    return {"type": f"incident.{delivery.change}", "delivery_id": delivery.idempotency_key,
            "route": delivery.route, "team": delivery.team, "incident": delivery.incident.model_dump(mode="json")}


def chat_body(channel: ChannelConfig, delivery: Delivery, now: datetime) -> dict[str, Any]:
    """The JSON body for a Slack / WeCom / DingTalk / Feishu robot."""
    title, lines = summary_lines(delivery)
    text = "\n".join([title, *lines])
    if isinstance(channel, SlackChannel):
        return {"text": text, "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
            {"type": "section", "text": {"type": "plain_text", "text": "\n".join(lines)[:2900]}},
        ]}
    if isinstance(channel, WeComChannel):
        if channel.msgtype == "text":
            return {"msgtype": "text", "text": {"content": text, "mentioned_list": list(channel.mentioned_list)}}
        return {"msgtype": "markdown", "markdown": {"content": f"**{title}**\n" + "\n".join(lines)}}
    if isinstance(channel, DingTalkChannel):
        if channel.msgtype == "text":
            return {"msgtype": "text", "text": {"content": text}}
        return {"msgtype": "markdown", "markdown": {"title": title[:64], "text": f"### {title}\n\n" + "\n\n".join(lines)}}
    if isinstance(channel, FeishuChannel):
        body: dict[str, Any]
        if channel.msg_type == "text":
            body = {"msg_type": "text", "content": {"text": text}}
        else:
            body = {"msg_type": "post", "content": {"post": {"zh_cn": {
                "title": title, "content": [[{"tag": "text", "text": line}] for line in lines]}}}}
        if channel.secret:
            timestamp = str(int(now.timestamp()))
            key = f"{timestamp}\n{channel.secret}".encode()
            body = {"timestamp": timestamp,
                    "sign": base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode(), **body}
        return body
    raise TypeError(f"not a chat channel: {channel.type}")


def dingtalk_url(channel: DingTalkChannel, now: datetime) -> str:
    """The robot URL, with ``timestamp`` and ``sign`` when the robot has a secret."""
    if not channel.secret:
        return channel.url
    timestamp = str(int(now.timestamp() * 1000))
    digest = hmac.new(channel.secret.encode(), f"{timestamp}\n{channel.secret}".encode(), hashlib.sha256).digest()
    sign = urllib.parse.quote_plus(base64.b64encode(digest))
    return f"{channel.url}{'&' if '?' in channel.url else '?'}timestamp={timestamp}&sign={sign}"


class ChannelSender:
    """Delivers to any channel (``send``); thread-safe. Webhooks and chat robots go through one pool of
    keep-alive HTTP connections (at most ``max_connections``), released by ``close``; no cookies are kept
    (one endpoint's cookie never rides along to the next delivery)."""

    def __init__(self, *, max_connections: int = 32) -> None:
        self._http = httpx.Client(
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
        )

    def close(self) -> None:
        self._http.close()

    def send(self, channel: ChannelConfig, delivery: Delivery, now: datetime) -> None:
        """Blocks (network). Deliver once; raises ``DeliveryFailed`` when the channel did not accept it."""
        if isinstance(channel, SseChannel):
            return
        if isinstance(channel, EmailChannel):
            send_email(channel, delivery)
            return
        if isinstance(channel, WebhookChannel):
            self.post_signed(channel, json.dumps(webhook_body(delivery), ensure_ascii=False).encode(),
                             delivery.idempotency_key, now)
            return
        headers = {"Content-Type": "application/json; charset=utf-8", IDEMPOTENCY_HEADER: delivery.idempotency_key}
        body = json.dumps(chat_body(channel, delivery, now), ensure_ascii=False).encode()
        url = dingtalk_url(channel, now) if isinstance(channel, DingTalkChannel) else channel.url
        check = {"wecom": "errcode", "dingtalk": "errcode", "feishu": "code"}.get(channel.type)
        self._post(url, body, headers, channel.timeout_seconds, check=check)

    def post_signed(self, channel: WebhookChannel, body: bytes, idempotency_key: str, now: datetime) -> None:
        """Blocks (network). POST a JSON ``body`` signed with the channel's secret (``sign_webhook``) once;
        raises ``DeliveryFailed`` when the receiver did not accept it."""
        timestamp = str(int(now.timestamp()))
        headers = {"Content-Type": "application/json; charset=utf-8", IDEMPOTENCY_HEADER: idempotency_key,
                   TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: sign_webhook(channel.secret, timestamp, body)}
        self._post(channel.url, body, headers, channel.timeout_seconds, check=None)

    def _post(self, url: str, body: bytes, headers: dict[str, str], timeout: float, *, check: str | None) -> None:
        try:
            response = self._http.post(url, content=body, headers=headers, timeout=timeout)
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"{type(exc).__name__}: {exc}") from exc
        if not response.is_success:
            raise DeliveryFailed(f"HTTP {response.status_code} from {url}")
        if check is None:
            return
        try:
            answer = json.loads(response.content or b"{}")
        except ValueError as exc:
            raise DeliveryFailed(f"unreadable answer from {url}") from exc
        code = answer.get(check, answer.get("StatusCode", 0)) if isinstance(answer, dict) else 0
        if code not in (0, None):
            raise DeliveryFailed(f"{check}={code}: {answer.get('errmsg') or answer.get('msg')}")


def send_email(channel: EmailChannel, delivery: Delivery) -> None:
    """Blocks. One message to every recipient; the idempotency key is in ``Message-ID`` and a header."""
    title, lines = summary_lines(delivery)
    message = EmailMessage()
    message["Subject"] = title
    message["From"] = channel.sender
    message["To"] = ", ".join(channel.recipients)
    message["Message-ID"] = f"<{delivery.idempotency_key.replace(':', '.')}@scrm.alerts>"
    message[IDEMPOTENCY_HEADER] = delivery.idempotency_key
    message.set_content("\n".join(lines))
    try:
        with smtplib.SMTP(channel.host, channel.port, timeout=channel.timeout_seconds) as smtp:
            if channel.starttls:
                smtp.starttls()
            if channel.username:
                smtp.login(channel.username, channel.password or "")
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryFailed(f"SMTP {channel.host}:{channel.port}: {exc}") from exc
