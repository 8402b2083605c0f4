"""Meta webhooks (Facebook Page, Instagram, Messenger and Instagram messaging) -> ``SocialEvent``s.

Pure: ``handle(request, connector)`` turns one ``WebhookRequest`` into a ``Delivery``.
- ``GET`` is the subscription handshake: ``hub.mode=subscribe`` and ``hub.verify_token`` equal to the
  connector's verify token earn ``hub.challenge`` back; anything else raises ``SignatureRejected`` (403).
- ``POST`` must carry ``X-Hub-Signature-256: sha256=<hex>``, HMAC-SHA256 of the exact body bytes keyed by
  the app secret (Meta signs the body as sent, unicode escaped, so the raw bytes are what is checked);
  missing, malformed or wrong raises ``SignatureRejected`` (401). Meta signs no timestamp, so there is no
  staleness to check: a replay of a genuine delivery gives the same event ids and counts once.
- The body ``{"object": "page"|"instagram", "entry": [...]}`` (or, as Meta's Instagram examples print it, a
  JSON array of such objects) holds entries with ``changes`` and/or ``messaging``; every change and every
  messaging item becomes its own event or its own ``Skipped`` with the reason. A body that is not JSON or
  has no ``entry`` list raises ``InvalidEvent``: dead-letter it and still answer ``DEAD_LETTER_REPLY``.

Meta batches up to 1000 updates per request and retries a delivery that is not answered 200 quickly,
with decreasing frequency for up to 36 hours: the receiver must answer 200 at once (``Delivery.reply``)
and leave duplicates to the stable event ids (comment, post and message ids; for reactions, which have no
id of their own, ``reaction:<target>:<from.id>:<reaction_type>:<created_time>``).
"""

from __future__ import annotations

import hashlib
import hmac
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
from ingest.adapters.meta_messaging import messaging_event
from ingest.codec import event_from_dict
from ingest.contracts import EventKind, Platform, SocialEvent
from ingest.exceptions import InvalidEvent

SIGNATURE_HEADER = "x-hub-signature-256"
ACK = WebhookReply(status=200)
DEAD_LETTER_REPLY = WebhookReply(status=200)
"""A signed delivery that cannot be read is still answered 200: Meta would otherwise retry it for 36 hours."""
DEAD_LETTER_HEADERS = ("content-type", "user-agent", SIGNATURE_HEADER)
"""Headers worth keeping beside a dead-lettered body (the signature is a MAC of the body, not a secret)."""

_PLATFORMS = {"page": Platform.FACEBOOK, "instagram": Platform.INSTAGRAM}
_POST_ITEMS = frozenset({"post", "status", "photo", "video", "link"})


class MetaConnector(BaseModel):
    """One Meta app's webhook subscription for one brand (App Dashboard > Webhooks)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(default="meta", min_length=1, max_length=128)
    """Written to ``SocialEvent.source``."""
    brand: str | None = Field(default=None, max_length=256)
    app_secret: SecretStr = Field(min_length=1)
    """App Dashboard > App settings > Basic > App secret: the HMAC key of ``X-Hub-Signature-256``."""
    verify_token: SecretStr = Field(min_length=1)
    """The Verify Token typed into the webhook configuration; the GET handshake must echo it."""
    facebook_page_ids: frozenset[str] = frozenset()
    """The brand's own Facebook Page ids. With these or ``instagram_account_ids`` set, entries for any other
    account are skipped; their activity (and the entry's own account's) is skipped as the brand's own."""
    instagram_account_ids: frozenset[str] = frozenset()
    """The brand's own Instagram professional account ids (``entry.id`` of ``object: instagram``)."""

    def owns(self, platform: Platform, account_id: str) -> bool:
        """Whether ``account_id`` is one of the brand's own accounts on ``platform``."""
        ids = self.facebook_page_ids if platform is Platform.FACEBOOK else self.instagram_account_ids
        return account_id in ids


@dataclass(frozen=True, slots=True)
class EntryContext:
    """Where a change or messaging item sits: its delivery's object and entry, and the request."""

    connector: MetaConnector
    platform: Platform
    object: str
    entry_id: str
    entry_time: Any
    received_at: datetime
    what: str

    def is_own(self, author_id: str) -> bool:
        """The entry's own account, or one the connector names as the brand's."""
        return author_id == self.entry_id or self.connector.owns(self.platform, author_id)

    def occurred_at(self, *candidates: Any) -> datetime:
        """The first readable timestamp among ``candidates``, else the entry's ``time``, else receipt time."""
        for value in (*candidates, self.entry_time):
            parsed = epoch(value)
            if parsed is not None:
                return parsed
        return self.received_at

    def event(self, key: str, item: Mapping[str, Any], **fields: Any) -> SocialEvent | Skipped:
        """Build the event; ``raw`` is this one item wrapped as a single-update delivery of the same shape.
        A value the contract refuses (an over-long id, say) skips the item with the contract's reason."""
        raw = {"object": self.object, "entry": [{"id": self.entry_id, "time": self.entry_time, key: [item]}]}
        payload = {
            "platform": self.platform.value,
            "received_at": self.received_at,
            "brand": self.connector.brand,
            "source": self.connector.name,
            "raw": bounded_raw(raw),
            **fields,
        }
        try:
            return event_from_dict(payload)
        except InvalidEvent as exc:
            return Skipped(self.what, f"{exc.field}: {exc.reason}")


def handle(request: WebhookRequest, connector: MetaConnector) -> Delivery:
    """Answer the handshake (GET) or turn a signed delivery (POST) into events.

    Pure and idempotent: the same request always gives the same events and ids. Raises
    ``SignatureRejected`` (403 handshake, 401 signature) and ``InvalidEvent`` (unreadable signed body).
    """
    if request.method.upper() == "GET":
        return Delivery(reply=_handshake(request.query, connector.verify_token))
    _verify_signature(request, connector.app_secret)
    payload = load_json(request.body)
    deliveries = payload if isinstance(payload, list) and payload else [payload]
    events: list[SocialEvent] = []
    skipped: list[Skipped] = []
    for number, delivery in enumerate(deliveries):
        prefix = f"[{number}]." if len(deliveries) > 1 else ""
        for part in _delivery_parts(delivery, prefix, connector, request.received_at):
            if isinstance(part, Skipped):
                skipped.append(part)
            else:
                events.append(part)
    return Delivery(events=tuple(events), skipped=tuple(skipped), reply=ACK)


def _handshake(query: Mapping[str, str], verify_token: SecretStr) -> WebhookReply:
    if query.get("hub.mode") != "subscribe":
        raise SignatureRejected("hub.mode is not subscribe", status=403)
    given = query.get("hub.verify_token", "")
    if not hmac.compare_digest(given.encode(), verify_token.get_secret_value().encode()):
        raise SignatureRejected("hub.verify_token does not match the connector's verify token", status=403)
    challenge = query.get("hub.challenge", "")
    if not challenge or len(challenge) > 512:
        raise SignatureRejected("hub.challenge is missing or longer than 512 characters", status=403)
    return WebhookReply(status=200, body=challenge.encode())


def _verify_signature(request: WebhookRequest, app_secret: SecretStr) -> None:
    header = request.headers.get(SIGNATURE_HEADER)
    if header is None:
        raise SignatureRejected("missing X-Hub-Signature-256 header")
    scheme, _, given = header.strip().partition("=")
    if scheme.lower() != "sha256" or not given:
        raise SignatureRejected("X-Hub-Signature-256 is not of the form sha256=<hex>")
    expected = hmac.new(app_secret.get_secret_value().encode(), request.body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), given.lower().encode()):
        raise SignatureRejected("X-Hub-Signature-256 does not match the body")


def _delivery_parts(
    delivery: Any, prefix: str, connector: MetaConnector, received_at: datetime
) -> list[SocialEvent | Skipped]:
    if not isinstance(delivery, dict) or not isinstance(delivery.get("entry"), list):
        raise InvalidEvent(f"{prefix}entry", "expected an object with an entry list")
    obj = text_of(delivery.get("object")) or ""
    platform = _PLATFORMS.get(obj)
    if platform is None:
        return [Skipped(f"{prefix}object={obj}", "only page and instagram deliveries become events")]
    parts: list[SocialEvent | Skipped] = []
    for i, entry in enumerate(delivery["entry"]):
        where = f"{prefix}entry[{i}]"
        entry_id = text_of(mapping_of(entry).get("id"))
        if entry_id is None:
            parts.append(Skipped(where, "entry without an id"))
            continue
        if (connector.facebook_page_ids or connector.instagram_account_ids) and not connector.owns(
            platform, entry_id
        ):
            parts.append(Skipped(where, f"account {entry_id} is not one of this connector's {obj} accounts"))
            continue
        parts.extend(_entry_parts(entry, where, obj, platform, entry_id, connector, received_at))
    return parts


def _entry_parts(
    entry: Mapping[str, Any],
    where: str,
    obj: str,
    platform: Platform,
    entry_id: str,
    connector: MetaConnector,
    received_at: datetime,
) -> list[SocialEvent | Skipped]:
    def context(what: str) -> EntryContext:
        return EntryContext(connector, platform, obj, entry_id, entry.get("time"), received_at, what)

    changes = list_of(entry.get("changes"))
    if not changes and "field" in entry:  # Meta's Instagram examples print the change inside the entry
        changes = [{"field": entry.get("field"), "value": entry.get("value")}]
    parts: list[SocialEvent | Skipped] = []
    for j, change in enumerate(changes):
        parts.append(_change_event(mapping_of(change), context(f"{where}.changes[{j}]")))
    for k, item in enumerate(list_of(entry.get("messaging"))):
        parts.append(messaging_event(mapping_of(item), context(f"{where}.messaging[{k}]")))
    if "standby" in entry:
        parts.append(Skipped(f"{where}.standby", "standby messages belong to a thread another app controls"))
    if not parts:
        parts.append(Skipped(where, "entry with neither changes nor messaging"))
    return parts


def _change_event(change: Mapping[str, Any], ctx: EntryContext) -> SocialEvent | Skipped:
    field_name = text_of(change.get("field")) or ""
    reader = _CHANGE_READERS.get((ctx.platform, field_name))
    if reader is None:
        return Skipped(
            f"{ctx.what} field={field_name}", f"{ctx.object} field {field_name!r} is not turned into events"
        )
    value = mapping_of(change.get("value"))
    return reader(value, change, ctx)


def _author(value: Mapping[str, Any], ctx: EntryContext) -> dict[str, Any] | Skipped:
    """``from`` as the contract's author; the brand's own accounts and a missing ``from`` are skipped."""
    person = mapping_of(value.get("from"))
    author_id = text_of(person.get("id"))
    if author_id is None:
        return Skipped(ctx.what, "no from.id: Meta left the author out of this change")
    if ctx.is_own(author_id) or author_id == text_of(value.get("self_ig_scoped_id")):
        return Skipped(ctx.what, "the brand's own activity on its own account")
    return {
        "id": author_id,
        "handle": text_of(person.get("username")),
        "display_name": text_of(person.get("name")),
    }


def _feed(value: Mapping[str, Any], change: Mapping[str, Any], ctx: EntryContext) -> SocialEvent | Skipped:
    item, verb = text_of(value.get("item")), text_of(value.get("verb"))
    if verb != "add":
        return Skipped(
            ctx.what,
            f"feed {item} verb={verb}: only additions are interactions (an edit or removal "
            "changes an event already recorded, which SocialEvent v1 cannot express)",
        )
    author = _author(value, ctx)
    if isinstance(author, Skipped):
        return author
    post_id, comment_id = text_of(value.get("post_id")), text_of(value.get("comment_id"))
    created = value.get("created_time")
    common = {"author": author, "occurred_at": ctx.occurred_at(created), "thread_id": post_id}
    if item == "comment" and comment_id and post_id:
        parent = text_of(value.get("parent_id")) or post_id
        kind = EventKind.COMMENT if parent == post_id else EventKind.REPLY
        return ctx.event(
            "changes",
            change,
            event_id=comment_id,
            kind=kind.value,
            parent_id=parent,
            text=bounded_text(value.get("message")),
            **common,
        )
    if item in {"reaction", "like"} and (comment_id or post_id):
        target = comment_id or post_id
        reaction = text_of(value.get("reaction_type")) or "like"
        event_id = f"reaction:{target}:{author['id']}:{reaction}:{text_of(created) or ''}"
        return ctx.event(
            "changes", change, event_id=event_id, kind=EventKind.LIKE.value, parent_id=target, **common
        )
    if item == "like":  # a like of the Page itself: the person became a fan
        event_id = f"page_like:{ctx.entry_id}:{author['id']}:{text_of(created) or ''}"
        return ctx.event("changes", change, event_id=event_id, kind=EventKind.FOLLOW.value, **common)
    if item in _POST_ITEMS and post_id:
        return ctx.event(
            "changes",
            change,
            event_id=post_id,
            kind=EventKind.POST.value,
            text=bounded_text(value.get("message")),
            **common,
        )
    if item == "share" and (share_id := text_of(value.get("share_id")) or post_id):
        return ctx.event(
            "changes",
            change,
            event_id=share_id,
            kind=EventKind.SHARE.value,
            text=bounded_text(value.get("message")),
            url=text_of(value.get("link")),
            **common,
        )
    return Skipped(f"{ctx.what} item={item}", f"feed item {item!r} (or its ids) is not turned into events")


def _page_mention(
    value: Mapping[str, Any], change: Mapping[str, Any], ctx: EntryContext
) -> SocialEvent | Skipped:
    if text_of(value.get("verb")) not in {None, "add"}:
        return Skipped(ctx.what, f"mention verb={value.get('verb')}: only additions are interactions")
    sender_id, post_id = text_of(value.get("sender_id")), text_of(value.get("post_id"))
    if sender_id is None or post_id is None:
        return Skipped(ctx.what, "mention without sender_id or post_id")
    if ctx.is_own(sender_id):
        return Skipped(ctx.what, "the brand's own activity on its own account")
    target = text_of(value.get("comment_id")) or post_id
    return ctx.event(
        "changes",
        change,
        event_id=f"mention:{target}",
        kind=EventKind.MENTION.value,
        author={"id": sender_id, "display_name": text_of(value.get("sender_name"))},
        occurred_at=ctx.occurred_at(value.get("created_time")),
        thread_id=post_id,
        text=bounded_text(value.get("message")),
    )


def _ig_comment(
    value: Mapping[str, Any], change: Mapping[str, Any], ctx: EntryContext
) -> SocialEvent | Skipped:
    comment_id = text_of(value.get("id"))
    if comment_id is None:
        return Skipped(ctx.what, "comment without an id")
    author = _author(value, ctx)
    if isinstance(author, Skipped):
        return author
    media_id = text_of(mapping_of(value.get("media")).get("id"))
    parent = text_of(value.get("parent_id"))
    return ctx.event(
        "changes",
        change,
        event_id=comment_id,
        kind=(EventKind.REPLY if parent else EventKind.COMMENT).value,
        author=author,
        occurred_at=ctx.occurred_at(value.get("timestamp")),
        parent_id=parent or media_id,
        thread_id=media_id,
        text=bounded_text(value.get("text")),
    )


def _ig_mention(
    value: Mapping[str, Any], change: Mapping[str, Any], ctx: EntryContext
) -> SocialEvent | Skipped:
    media_id, comment_id = text_of(value.get("media_id")), text_of(value.get("comment_id"))
    target = comment_id or media_id
    if target is None:
        return Skipped(ctx.what, "mention without media_id or comment_id")
    # The mentions webhook names only the media and comment, never who wrote them (the Graph API's
    # mentioned_comment / mentioned_media tell): the author is a stand-in unique to this mention.
    in_comment_on = media_id if comment_id else None
    return ctx.event(
        "changes",
        change,
        event_id=f"mention:{target}",
        kind=EventKind.MENTION.value,
        author={"id": f"unresolved-mention:{target}"},
        occurred_at=ctx.occurred_at(),
        parent_id=in_comment_on,
        thread_id=media_id,
    )


_ChangeReader = Callable[[Mapping[str, Any], Mapping[str, Any], EntryContext], SocialEvent | Skipped]
_CHANGE_READERS: dict[tuple[Platform, str], _ChangeReader] = {
    (Platform.FACEBOOK, "feed"): _feed,
    (Platform.FACEBOOK, "mention"): _page_mention,
    (Platform.INSTAGRAM, "comments"): _ig_comment,
    (Platform.INSTAGRAM, "live_comments"): _ig_comment,
    (Platform.INSTAGRAM, "mentions"): _ig_mention,
}
