"""Intake messages: what a receiver accepted, as the messages the lanes read. Pure.

An event goes to ``scrm.events.raw`` keyed by its identity key (``<platform>:<author id>``, as every raw
record is keyed, so one author's events keep their order in one partition); a dead letter goes to
``scrm.deadletter`` keyed by the key of the record it holds (none for a webhook delivery).
"""

from __future__ import annotations

from collections.abc import Sequence

from ingest.codec import encode_event
from ingest.contracts import SocialEvent
from ingest.deadletter import DeadLetter
from streams.topics import DEADLETTER, RAW_EVENTS
from streams.transports import Outgoing


def event_message(event: SocialEvent) -> Outgoing:
    """The ``scrm.events.raw`` message of ``event``."""
    return Outgoing(RAW_EVENTS, event.identity_key.encode("utf-8"), encode_event(event))


def dead_letter_message(letter: DeadLetter) -> Outgoing:
    """The ``scrm.deadletter`` message of ``letter``."""
    return Outgoing(DEADLETTER, letter.key, letter.model_dump_json().encode())


def intake_messages(records: Sequence[SocialEvent | DeadLetter]) -> list[Outgoing]:
    """The messages of ``records``, in order."""
    return [event_message(r) if isinstance(r, SocialEvent) else dead_letter_message(r) for r in records]
