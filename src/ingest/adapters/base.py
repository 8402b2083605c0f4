"""What every platform adapter shares: the webhook request as received, the reply it earns, and what a
delivery became.

An adapter is pure: ``WebhookRequest`` in (method, query, headers, raw body, receive time), a
``Delivery`` out (the ``SocialEvent``s it holds, the parts that could not become events, and the reply the
platform expects). It never reads the clock, the network or the disk; the receiver (``api``) and the
intake journal do that. Two kinds of refusal are exceptions:
- ``SignatureRejected``: the request does not prove it comes from the platform (wrong or missing
  signature, stale signed timestamp, unknown verify token). Answered 401/403, nothing stored, counted.
- ``ingest.exceptions.InvalidEvent``: a signed delivery whose body cannot be read at all (malformed XML or
  JSON, decrypts to garbage). Dead-lettered with the original bytes and answered so the platform does not
  retry forever.
A delivery that parses but holds parts the adapter does not turn into events (an unsupported message
type, a change field nobody asked for) lists them in ``Delivery.skipped`` with the reason: never silent.
A delivery that only announces data to fetch (WeCom 微信客服: "new messages, pull them with this token")
lists what to fetch in ``Delivery.pulls``; the receiver hands each to the connector's pull client.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from ingest.contracts import SocialEvent
from ingest.exceptions import InvalidEvent


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """One HTTP request as the receiver got it. ``headers`` and ``query`` keys are lower-case (header
    names) / as sent (query names); ``body`` is the exact bytes; ``received_at`` is timezone-aware."""

    method: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes
    received_at: datetime


@dataclass(frozen=True, slots=True)
class WebhookReply:
    """What to answer: status, body and content type (WeChat wants ``success`` or an encrypted XML echo,
    Meta the ``hub.challenge``, WeChat's verification GET the ``echostr``)."""

    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"


@dataclass(frozen=True, slots=True)
class Skipped:
    """A part of a delivery that did not become an event, and why (``what`` names it, e.g.
    ``entry[0].changes[1] field=ratings``)."""

    what: str
    reason: str


@dataclass(frozen=True, slots=True)
class InvalidItem:
    """One item of a pulled or polled page (a 微信客服 message, a tweet, a Reddit thing) that cannot become
    an event: its JSON bytes (to dead-letter) and why. The rest of the page goes on."""

    original: bytes
    error: InvalidEvent


@dataclass(frozen=True, slots=True)
class Pull:
    """Data a delivery announces but does not carry, to fetch from the platform's API: ``api`` names the call
    (e.g. ``wecom.kf.sync_msg``), ``params`` what it needs. Params may hold short-lived platform tokens:
    pass them on, never log them."""

    api: str
    params: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Delivery:
    """What one request became: events in delivery order, parts skipped with reasons, the reply, and what
    the delivery announces for fetching (``pulls``, empty for most platforms)."""

    events: tuple[SocialEvent, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    reply: WebhookReply = field(default_factory=WebhookReply)
    pulls: tuple[Pull, ...] = ()


class SignatureRejected(Exception):
    """The request does not prove it comes from the platform. ``status`` is the HTTP status to answer
    (401 missing/wrong signature, 403 unknown verify token); the message never contains a secret."""

    def __init__(self, reason: str, *, status: int = 401) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
