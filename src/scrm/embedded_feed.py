"""Feeding a stream of messages to the embedded runtime in bounded steps (``scrm run``, ``scrm import``)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from streams.exceptions import EXIT_DEAD_LETTERS, EXIT_UNAVAILABLE, DeadLetterRatioExceeded, LaneFailed

if TYPE_CHECKING:
    from streams.runtimes.embedded import EmbeddedRuntime

Message = tuple[str, bytes | None, bytes]
"""``(topic, key, value)``: where the runtime's in-process topics get it, e.g. ``scrm.events.raw``."""
PIPELINE_STOPS = (DeadLetterRatioExceeded, LaneFailed)
"""What ``feed_embedded`` raises when the pipeline stops; ``stopped_exit`` turns it into an exit code."""


def feed_embedded(
    runtime: EmbeddedRuntime, messages: Iterable[Message], *, chunk: int, on_drain: Callable[[], None] | None = None
) -> None:
    """Publish every message, draining whenever ``chunk`` records are pending (memory stays bounded, and
    profiles and alerts are applied as it goes; ``on_drain`` is called after each) and once at the end, so
    everything is durable when it returns. Blocks; raises ``DeadLetterRatioExceeded`` or ``LaneFailed``
    from ``drain`` (nothing uncommitted is lost)."""
    for topic, key, value in messages:
        runtime.publish(value, key, topic=topic)
        if runtime.pending() >= chunk:
            runtime.drain()
            if on_drain is not None:
                on_drain()
    runtime.drain()


def stopped_exit(command: str, exc: Exception) -> int:
    """Report a pipeline stop on stderr; the exit code it calls for (70 dead-letter guard, 75 unavailable)."""
    print(f"\n{command}: {exc}", file=sys.stderr)
    return EXIT_DEAD_LETTERS if isinstance(exc, DeadLetterRatioExceeded) else EXIT_UNAVAILABLE
