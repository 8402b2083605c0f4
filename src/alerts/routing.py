"""Routing: which incident changes go to which team over which channels, the escalation SLAs, and the
segment feeds (segment entries and exits to a webhook).

A ``RoutingConfig`` is a frozen pydantic model, usually read from a JSON file (``load_routing``): named
channels, ordered routes matching on severity, kind, rule, topic, platform, language, brand and the kind of
change, and per-severity SLAs (minutes an open incident may stay unacknowledged before it escalates).
Every matching route delivers (a crisis can go to PR *and* to the brand's care team).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from alerts.contracts import Incident


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WebhookChannel(_Config):
    """Signed JSON webhook: ``X-Scrm-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>." + body)>``."""

    type: Literal["webhook"] = "webhook"
    url: str
    secret: str
    timeout_seconds: float = 5.0


class SlackChannel(_Config):
    """Slack-compatible incoming webhook (``text`` + ``blocks``)."""

    type: Literal["slack"] = "slack"
    url: str
    timeout_seconds: float = 5.0


class WeComChannel(_Config):
    """WeCom (企业微信) group robot: ``msgtype`` markdown or text."""

    type: Literal["wecom"] = "wecom"
    url: str
    msgtype: Literal["markdown", "text"] = "markdown"
    mentioned_list: tuple[str, ...] = ()
    timeout_seconds: float = 5.0


class DingTalkChannel(_Config):
    """DingTalk (钉钉) group robot: ``msgtype`` markdown or text; ``secret`` enables signed requests."""

    type: Literal["dingtalk"] = "dingtalk"
    url: str
    secret: str | None = None
    msgtype: Literal["markdown", "text"] = "markdown"
    timeout_seconds: float = 5.0


class FeishuChannel(_Config):
    """Feishu / Lark (飞书) custom bot: ``msg_type`` text or post; ``secret`` enables signature checks."""

    type: Literal["feishu"] = "feishu"
    url: str
    secret: str | None = None
    msg_type: Literal["text", "post"] = "post"
    timeout_seconds: float = 5.0


class EmailChannel(_Config):
    """Email over SMTP (``smtplib``)."""

    type: Literal["email"] = "email"
    host: str
    port: int = 25
    sender: str
    recipients: tuple[str, ...]
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout_seconds: float = 10.0


class SseChannel(_Config):
    """The API's live stream (``GET /v1/alerts/stream``) shows every incident change; nothing to send."""

    type: Literal["sse"] = "sse"


ChannelConfig = Annotated[
    WebhookChannel | SlackChannel | WeComChannel | DingTalkChannel | FeishuChannel | EmailChannel | SseChannel,
    Field(discriminator="type"),
]

DEFAULT_CHANGES = ("opened", "severity_raised", "escalated", "assigned")


class Route(_Config):
    """Deliver matching incident changes to ``team`` over ``channels``. Empty filters match anything."""

    name: str
    team: str
    channels: tuple[str, ...]
    min_severity: int = Field(default=1, ge=1, le=5)
    kinds: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    brands: tuple[str, ...] = ()
    changes: tuple[str, ...] = DEFAULT_CHANGES
    min_escalation_level: int = Field(default=0, ge=0)

    def matches(self, incident: Incident, change: str) -> bool:
        """Whether this route takes ``change`` of ``incident``."""
        return (
            incident.severity >= self.min_severity
            and change in self.changes
            and incident.escalation_level >= self.min_escalation_level
            and (not self.kinds or incident.kind in self.kinds)
            and (not self.rules or any(r in self.rules for r in incident.rules))
            and (not self.topics or incident.topic in self.topics)
            and (not self.platforms or any(p in self.platforms for p in incident.platforms))
            and (not self.languages or incident.language in self.languages)
            and (not self.brands or incident.brand in self.brands)
        )


class RetryPolicy(_Config):
    """Delivery retries: attempt ``n`` (from 1) waits ``min(max, base * 2**(n-1))`` scaled by a random
    factor in ``[1 - jitter, 1 + jitter]``; after ``max_attempts`` the delivery is dead-lettered."""

    max_attempts: int = Field(default=6, ge=1)
    base_seconds: float = Field(default=1.0, gt=0)
    max_seconds: float = Field(default=300.0, gt=0)
    jitter: float = Field(default=0.3, ge=0.0, lt=1.0)


class SegmentFeed(_Config):
    """Deliver every entry into and exit from ``segments`` (empty: every segment) to the webhook channel
    ``channel``, in order, ``batch_size`` changes per request (``alerts.segment_feeds``). ``start``: a new
    feed delivers the whole recorded history (``beginning``: from each segment's creation, so a receiver
    can rebuild membership) or only what changes from now on (``now``)."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
    channel: str
    segments: tuple[str, ...] = ()
    changes: tuple[Literal["enter", "leave"], ...] = ("enter", "leave")
    batch_size: int = Field(default=100, ge=1, le=1000)
    start: Literal["beginning", "now"] = "beginning"


class RoutingConfig(_Config):
    """Channels by name, routes, escalation SLAs (minutes per severity), the retry policy and the segment
    feeds. Raises ``ValueError`` (a ``ValidationError``) when a feed names a channel that is not a webhook."""

    channels: dict[str, ChannelConfig] = Field(default_factory=dict)
    routes: tuple[Route, ...] = ()
    sla_minutes: dict[int, int] = Field(default_factory=lambda: {5: 5, 4: 15, 3: 60, 2: 240})
    max_escalation_level: int = Field(default=2, ge=0)
    retry: RetryPolicy = RetryPolicy()
    live_window_hours: float | None = Field(
        default=24.0, description="skip chat/email deliveries for incidents whose last event is older (replays)"
    )

    segment_feeds: tuple[SegmentFeed, ...] = ()

    @model_validator(mode="after")
    def _feeds_go_to_webhooks(self) -> RoutingConfig:
        for feed in self.segment_feeds:
            channel = self.channels.get(feed.channel)
            if not isinstance(channel, WebhookChannel):
                raise ValueError(f"segment feed {feed.name!r}: channel {feed.channel!r} is not a webhook channel "
                                 "(segment changes go to signed webhooks only)")
        if len({feed.name for feed in self.segment_feeds}) != len(self.segment_feeds):
            raise ValueError("segment feed names must be unique")
        return self

    def routes_for(self, incident: Incident, change: str) -> list[Route]:
        """Every route taking this change, in configuration order."""
        return [route for route in self.routes if route.matches(incident, change)]


def load_routing(path: str | Path) -> RoutingConfig:
    """Read a routing JSON file. Raises ``OSError`` or ``pydantic.ValidationError``."""
    return RoutingConfig.model_validate_json(Path(path).read_text(encoding="utf-8"))
