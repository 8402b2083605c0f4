"""Alert contracts (schema version 1).

``ScoredPost`` is what detectors look at: an event plus the scores the stream attached to it — alerts'
own noun, so detectors depend on nothing but ``ingest``. ``Alert`` is one signal a detector raised (the
value on ``scrm.alerts``); alerts sharing a ``dedup_key`` update one ``Incident`` — what agents see,
acknowledge, assign and resolve.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ingest.contracts import SocialEvent

AlertKind = Literal["crisis", "opportunity", "coordinated"]
"""What an incident is: a crisis forming, an opportunity, or coordinated accounts (水军) at work — neither."""
AlertState = Literal["open", "acknowledged", "resolved"]
ReplyLanguage = Literal["zh-Hans", "zh-Hant", "en"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ScoredPost(_Frozen):
    """An event with its customer and enrichment, flattened to what detectors need."""

    customer_id: str
    event: SocialEvent
    sentiment_label: str
    sentiment_score: float
    sentiment_confidence: float
    topics: tuple[str, ...] = ()
    intents: tuple[str, ...] = ()
    language: str = "other"
    author_influence: float = 0.0
    author_lifecycle: str = "prospect"
    author_first_seen: datetime | None = None
    """When the author was first seen, by the alert lane's fold of their earlier events (``None``: this is
    the first)."""
    spam: float = Field(default=0.0, ge=0.0, le=1.0)


class SuggestedReply(_Frozen):
    """An editable reply an agent can send: chosen from templates by intent, topic and language."""

    template_id: str
    language: ReplyLanguage
    text: str


class Alert(_Frozen):
    """One detector signal. ``alert_id`` is deterministic (rule, dedup key, triggering event), so a
    replayed event re-creates the same alert instead of a new one; ``incident_id`` names the incident it
    opened or updated (set by the incident step). ``event_key`` is the key (``SocialEvent.event_key``) of
    the event the alert is about (``event_id`` on ``platform``); absent on alerts raised before alerts
    carried it, and on an unanswered question asked before then (added in version 1: an alert without it
    is as valid as before)."""

    schema_version: Literal[1] = 1
    alert_id: str
    rule: str
    kind: AlertKind
    severity: int = Field(ge=1, le=5)
    title: str
    dedup_key: str
    customer_id: str | None = None
    event_id: str
    platform: str
    event_key: str | None = None
    brand: str | None = None
    topic: str | None = None
    language: str = "other"
    occurred_at: datetime
    evidence: dict[str, Any] = Field(default_factory=dict)
    state: AlertState = "open"
    suggested_reply: SuggestedReply | None = None
    incident_id: str | None = None


class SignalPost(_Frozen):
    """The post behind one alert, as a digest or incident lists it (text and author from the alert's
    evidence; ``None`` where the detector kept none, e.g. a spike's window)."""

    alert_id: str
    rule: str
    severity: int
    event_id: str | None = None
    platform: str | None = None
    occurred_at: datetime
    author: str | None = None
    text: str | None = None
    url: str | None = None

    @classmethod
    def of(cls, alert: Alert) -> SignalPost:
        nested = alert.evidence.get("post")
        post: dict[str, Any] = nested if isinstance(nested, dict) else alert.evidence

        def field(name: str) -> str | None:
            value = post.get(name)
            return str(value) if value is not None else None

        return cls(alert_id=alert.alert_id, rule=alert.rule, severity=alert.severity, event_id=alert.event_id,
                   platform=alert.platform, occurred_at=alert.occurred_at, author=field("author"),
                   text=field("text"), url=field("url"))


class Comment(_Frozen):
    """A note an agent left on an incident."""

    author: str
    at: datetime
    text: str = Field(min_length=1, max_length=10_000)


class Incident(_Frozen):
    """An open (or past) problem or opportunity: every alert with the same ``dedup_key`` while it is not
    resolved. ``version`` grows with every change, so deliveries are idempotent by incident + version +
    channel. Event-time fields (``first_seen``/``last_seen``) come from the alerts; wall-clock fields
    (``opened_at``, ``updated_at``, ``acknowledged_at`` ...) from the system."""

    schema_version: Literal[1] = 1
    incident_id: str
    dedup_key: str
    rule: str
    rules: tuple[str, ...] = ()
    kind: AlertKind
    severity: int = Field(ge=1, le=5)
    title: str
    state: AlertState = "open"
    brand: str | None = None
    topic: str | None = None
    language: str = "other"
    platforms: tuple[str, ...] = ()
    customer_id: str | None = None
    first_seen: datetime
    last_seen: datetime
    count: int = 1
    version: int = 1
    lead_alert_id: str | None = None
    """The alert that gives the incident its rule and title: the most severe, ties broken by alert id."""
    alert_ids: tuple[str, ...] = ()
    event_ids: tuple[str, ...] = ()
    evidence: dict[str, Any] = Field(default_factory=dict)
    suggested_reply: SuggestedReply | None = None
    opened_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    snoozed_until: datetime | None = None
    assignee: str | None = None
    team: str | None = None
    escalation_level: int = 0
    escalated_at: datetime | None = None
    comments: tuple[Comment, ...] = ()
    last_change: str = "opened"


IncidentChange = Literal[
    "opened", "updated", "severity_raised", "acknowledged", "resolved", "snoozed", "assigned", "commented",
    "escalated",
]
