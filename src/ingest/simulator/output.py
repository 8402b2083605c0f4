"""The simulated stream as encoded bytes: ``raw_records`` (invalid records mixed in) and ``write_jsonl``."""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Iterator
from pathlib import Path

from ingest.codec import encode_event
from ingest.simulator.config import SimulatorConfig
from ingest.simulator.stream import simulate_events


def raw_records(config: SimulatorConfig) -> Iterator[bytes]:
    """``simulate_events(config)`` serialised with ``encode_event``, with invalid records mixed in.

    About ``config.invalid_ratio`` of the emitted records are deliberately unreadable (bad UTF-8, not JSON,
    a naive datetime, an unknown kind), each a corrupted copy of the next valid record; ``decode_event``
    rejects every one with ``InvalidEvent``. The valid records, in order, are exactly the encoded events.
    Infinite and deterministic.
    """
    rng = random.Random(config.seed * 1_000_003 + 47)
    ratio = config.invalid_ratio
    for event in simulate_events(config):
        record = encode_event(event)
        while ratio and rng.random() < ratio:  # geometric: invalid records are ``ratio`` of the output
            yield _corrupt(record, rng)
        yield record


def _corrupt(valid: bytes, rng: random.Random) -> bytes:
    mode = int(rng.random() * 4)
    if mode == 0:  # bad UTF-8 inside a string value
        cut = valid.index(b'"event_id":"') + 12
        return valid[:cut] + b"\xff\xfe" + valid[cut:]
    if mode == 1:  # truncated: not JSON
        return valid[: len(valid) // 2]
    payload = json.loads(valid)
    if mode == 2:  # naive datetime
        payload["occurred_at"] = payload["occurred_at"][:19]
    else:
        payload["kind"] = rng.choice(("poke", "upvote", "retweet"))
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def write_jsonl(path: Path, config: SimulatorConfig, count: int) -> int:
    """Write the first ``count`` events of ``simulate_events(config)`` to ``path`` as JSON lines; returns
    ``count``. Overwrites ``path``; valid events only. Blocks on file I/O; raises ``OSError`` on failure.
    """
    with Path(path).open("wb") as out:
        for event in itertools.islice(simulate_events(config), count):
            out.write(encode_event(event) + b"\n")
    return count
