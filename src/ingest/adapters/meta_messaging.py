"""Messenger and Instagram messaging items (``entry[].messaging[]``) -> ``chat_message`` / ``mention`` events.

Part of the Meta adapter (``ingest.adapters.meta``), which walks the delivery and hands each messaging item
here with its ``EntryContext``. A message the person sent becomes one event whose id is ``message.mid``
(stable across Meta's retries) and whose author is ``sender.id`` (a Page-scoped id on Messenger, an
Instagram-scoped id on Instagram). An Instagram message carrying a ``story_mention`` attachment is the
person mentioning the brand in their story: kind ``mention``. Everything else in ``messaging`` is skipped
with the reason: echoes of the brand's own messages (``is_echo``), delivery and read receipts, reactions
to messages, postbacks, edits, unsent messages and thread-control notices.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ingest.adapters.base import Skipped
from ingest.adapters.json_payload import bounded_text, list_of, mapping_of, text_of
from ingest.contracts import EventKind, SocialEvent

if TYPE_CHECKING:
    from ingest.adapters.meta import EntryContext

_NOT_MESSAGES = {
    "delivery": "a delivery receipt, not something the person did",
    "read": "a read receipt, not something the person did",
    "reaction": "a reaction to a private message is not turned into an event",
    "postback": "a button tap (postback) is not turned into an event",
    "message_edit": "an edit of a message already recorded",
    "referral": "a referral notice, not a message",
    "optin": "an opt-in notice, not a message",
    "account_linking": "an account-linking notice, not a message",
    "pass_thread_control": "a thread-control handover, not a message",
    "take_thread_control": "a thread-control handover, not a message",
    "request_thread_control": "a thread-control handover, not a message",
    "policy-enforcement": "a policy notice from Meta, not a message",
}


def messaging_event(item: Mapping[str, Any], ctx: EntryContext) -> SocialEvent | Skipped:
    """One messaging item as an event, or ``Skipped`` with the reason. Pure."""
    message = item.get("message")
    if not isinstance(message, dict):
        for key, reason in _NOT_MESSAGES.items():
            if key in item:
                return Skipped(f"{ctx.what} {key}", reason)
        return Skipped(ctx.what, f"messaging item with keys {sorted(item)} is not a message")
    if message.get("is_echo"):
        return Skipped(f"{ctx.what} is_echo", "an echo of a message the brand's own account sent")
    if message.get("is_deleted"):
        return Skipped(f"{ctx.what} is_deleted", "the person unsent a message already recorded")
    if message.get("is_unsupported"):
        return Skipped(f"{ctx.what} is_unsupported", "a message type Meta does not pass to apps")
    sender = text_of(mapping_of(item.get("sender")).get("id"))
    mid = text_of(message.get("mid"))
    if sender is None or mid is None:
        return Skipped(ctx.what, "message without sender.id or message.mid")
    if ctx.is_own(sender):
        return Skipped(ctx.what, "a message the brand's own account sent")
    attachments = [mapping_of(attachment) for attachment in list_of(message.get("attachments"))]
    story_mention = any(attachment.get("type") == "story_mention" for attachment in attachments)
    return ctx.event(
        "messaging",
        item,
        event_id=mid,
        kind=(EventKind.MENTION if story_mention else EventKind.CHAT_MESSAGE).value,
        author={"id": sender},
        occurred_at=ctx.occurred_at(item.get("timestamp")),
        text=bounded_text(message.get("text")),
        parent_id=text_of(mapping_of(message.get("reply_to")).get("mid")),
    )
