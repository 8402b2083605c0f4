"""The ``SocialEvent`` v1 contract: one thing a person did on a social platform, normalised.

Serialised as JSON on the wire (``scrm.events.raw``). The field names are a public contract: connectors,
tests and outside tools (kcat, ksql, jq) rely on them, so a change of meaning needs a new schema version.
Instances are frozen; build new ones with ``model_copy(update=...)``.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal
from urllib.parse import quote

import pydantic_core
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

MAX_TEXT_CHARS = 20_000
MAX_RAW_BYTES = 256 * 1024
MAX_EVENT_KEY_CHARS = 512
MAX_LOCATION_CHARS = 128
"""The longest event key ``event_key`` returns (stored in ``String(600)`` columns, with room for a suffix)."""


class Platform(StrEnum):
    """Platforms a connector can normalise from; ``other`` for anything not listed. ``bilibili`` and
    ``kuaishou`` were added within schema version 1 (a widening: every value valid before still is)."""

    WEIBO = "weibo"
    WECHAT = "wechat"
    WECOM = "wecom"
    DOUYIN = "douyin"
    XIAOHONGSHU = "xiaohongshu"
    ZHIHU = "zhihu"
    BILIBILI = "bilibili"
    KUAISHOU = "kuaishou"
    X = "x"
    REDDIT = "reddit"
    YOUTUBE = "youtube"
    FACEBOOK = "facebook"
    INSTAGRAM = "instagram"
    OTHER = "other"


class EventKind(StrEnum):
    """What the author did."""

    POST = "post"
    MENTION = "mention"
    COMMENT = "comment"
    REPLY = "reply"
    LIKE = "like"
    SHARE = "share"
    FOLLOW = "follow"
    UNFOLLOW = "unfollow"
    """The author stopped following the brand's account (a WeChat Official Account ``unsubscribe``): a
    later widening of version 1 (every event valid before still is, and means the same). The apply lane
    takes it as a withdrawal of contact and marketing consent for the account (docs/consent.md)."""
    CHAT_MESSAGE = "chat_message"
    REVIEW = "review"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=False)


class Author(_Frozen):
    """The person (or account) who acted, as the platform identifies them."""

    id: Annotated[str, Field(min_length=1, max_length=256)]
    handle: str | None = Field(default=None, max_length=256)
    display_name: str | None = Field(default=None, max_length=512)
    followers: int | None = Field(default=None, ge=0)
    verified: bool = False


class Metrics(_Frozen):
    """Engagement the item had when the connector saw it."""

    likes: int = Field(default=0, ge=0)
    shares: int = Field(default=0, ge=0)
    replies: int = Field(default=0, ge=0)


class IdentityHints(_Frozen):
    """Keys that can link this author to other identities; all optional, never guessed."""

    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=32)
    wechat_unionid: str | None = Field(default=None, max_length=128)
    crm_id: str | None = Field(default=None, max_length=128)


class SocialEvent(_Frozen):
    """One normalised social interaction (schema version 1).

    An event is identified by its platform, its author's id and its ``event_id`` (``event_key``): a
    producer need only keep event ids unique per author, and a re-delivered event is recognised and ignored
    downstream. ``occurred_at`` (when the person acted) is required; ``received_at`` (when sCRM received the
    event) may be absent or ``null`` on the wire, since an outside producer cannot know it: ``ingest.codec``
    then stamps the time the intake decodes the event, so every ``SocialEvent`` has both, timezone-aware. Accepting events without
    ``received_at`` is a backwards-compatible widening of version 1: every event valid before still is, and
    means the same.

    ``location`` (optional, at most 128 characters) is where the platform says the author acted from, as
    it says it: the "IP属地" (IP location) that Chinese platforms show beside a post or comment, e.g.
    ``广东``. It is a later widening of version 1 too: an event without it is valid and means what it meant,
    and it is left out of the JSON when absent (never written as ``null``), so an event without a location
    is the same bytes as before and a consumer that predates the field still reads it.
    """

    schema_version: Literal[1] = 1
    event_id: Annotated[str, Field(min_length=1, max_length=512)]
    platform: Platform
    kind: EventKind
    occurred_at: AwareDatetime
    received_at: AwareDatetime
    author: Author
    brand: str | None = Field(default=None, max_length=256)
    text: str | None = Field(default=None, max_length=MAX_TEXT_CHARS)
    lang: str | None = Field(default=None, max_length=35)
    url: str | None = Field(default=None, max_length=4096)
    parent_id: str | None = Field(default=None, max_length=512)
    thread_id: str | None = Field(default=None, max_length=512)
    location: str | None = Field(default=None, max_length=MAX_LOCATION_CHARS, exclude_if=lambda value: value is None)
    metrics: Metrics = Metrics()
    identity_hints: IdentityHints = IdentityHints()
    source: Annotated[str, Field(min_length=1, max_length=128)]
    raw: dict[str, Any] | None = None

    @field_validator("raw")
    @classmethod
    def _raw_within_limit(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return value
        size = json_size(value)
        if size > MAX_RAW_BYTES:
            raise ValueError(f"raw payload is {size} bytes, over the {MAX_RAW_BYTES}-byte limit")
        return value

    @property
    def identity_key(self) -> str:
        """``"<platform>:<author.id>"``: the partition key on ``scrm.events.raw`` and the primary identity."""
        return identity_key(self.platform, self.author.id)

    @property
    def event_key(self) -> str:
        """The event's idempotency key (see ``event_key``), e.g. ``douyin:u-1/d-7``."""
        return event_key(self.platform.value, self.author.id, self.event_id)

    @property
    def post_key(self) -> str:
        """``"<platform>:<event_id>"``: how a reply names this event as its parent (see ``post_key``)."""
        return post_key(self.platform.value, self.event_id)

    @property
    def occurred_at_utc(self) -> datetime:
        """``occurred_at`` normalised to UTC."""
        return self.occurred_at.astimezone(UTC)


def json_size(value: Any) -> int:
    """Size in bytes of ``value`` serialised as compact UTF-8 JSON (pydantic-core's serialiser: every
    event is validated again by each stage that reads it, so this is on the hot path)."""
    return len(pydantic_core.to_json(value, fallback=str))


def identity_key(platform: str, platform_user_id: str) -> str:
    """The identity key of a platform account, e.g. ``weibo:12345``."""
    return f"{platform}:{platform_user_id}"


def event_key(platform: str, author_id: str, event_id: str) -> str:
    """The idempotency key of an event: ``<platform>:<author id>/<event id>``, e.g. ``douyin:u-1/d-7``.

    Event ids need only be unique per author, so the key names all three. Both ids are percent-encoded
    (``urllib.parse.quote(..., safe="")``: letters, digits and ``_.-~`` stay as they are), so neither holds
    the ``/`` between them nor a ``#``: two different events never share a key, and a ``#``-suffix (a
    mention edge's ``#m<n>``) cannot be mistaken for part of an id. A key that would be longer than
    ``MAX_EVENT_KEY_CHARS`` (long ids, or non-ASCII ones: a character encodes to up to twelve) is
    ``<platform>:#<sha256 hex of the spelled-out key>`` instead: 77 characters at most, and distinct from
    every spelled-out key, whose author part never starts with ``#``."""
    spelled = f"{platform}:{quote(author_id, safe='')}/{quote(event_id, safe='')}"
    if len(spelled) <= MAX_EVENT_KEY_CHARS:
        return spelled
    return f"{platform}:#{hashlib.sha256(spelled.encode()).hexdigest()}"


def post_key(platform: str, post_id: str) -> str:
    """A post as other events name it, ``<platform>:<post id>`` (e.g. a reply's ``parent_id``, a
    ``thread_id``): the replier does not know the parent's author, so this is not unique when a producer
    reuses an event id for another author; ``event_key`` is."""
    return f"{platform}:{post_id}"
