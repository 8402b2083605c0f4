"""The ``SocialEvent`` v1 contract: one thing a person did on a social platform, normalised.

Serialised as JSON on the wire (``scrm.events.raw``). The field names are a public contract: connectors,
tests and outside tools (kcat, ksql, jq) rely on them, so a change of meaning needs a new schema version.
Instances are frozen; build new ones with ``model_copy(update=...)``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

import pydantic_core
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

MAX_TEXT_CHARS = 20_000
MAX_RAW_BYTES = 256 * 1024


class Platform(StrEnum):
    """Platforms a connector can normalise from; ``other`` for anything not listed."""

    WEIBO = "weibo"
    WECHAT = "wechat"
    WECOM = "wecom"
    DOUYIN = "douyin"
    XIAOHONGSHU = "xiaohongshu"
    ZHIHU = "zhihu"
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

    ``event_id`` is unique per platform, so a re-delivered event is recognised and ignored downstream.
    ``occurred_at`` and ``received_at`` must be timezone-aware.
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
