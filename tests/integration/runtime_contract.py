"""The input and the observable outcome of the runtime contract suite (``test_runtime_contract.py``).

``contract_input`` is a seeded stream as outside producers write it: a calm hour, then a crisis forming,
identity hints that merge accounts, junk lines, events without ``received_at``, and event ids reused by
other authors. ``Outcome`` is what a user can see afterwards — profiles, dead letters, the per-post alerts
(every alert of the rules judged post by post, by id) and the incidents of rules no fire cap reached here —
without what legitimately differs between runtimes (partition/offset numbers, wall-clock stamps).

Not held to it yet (docs/runtime.md, "The contract suite"): the windowed detectors' alerts (negative spike,
velocity) and which incident an alert joins once a rule's fire cap for a brand and hour is reached, both of
which still depend on how partitions interleave.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from alerts.tables import IncidentRow, SignalRow
from ingest.deadletter_store import list_dead_letters
from ingest.simulator import SimulatorConfig, raw_records
from profile_store.tables import ProfileRow

START = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)


def contract_input(*, hours: float = 2.0, events_per_hour: float = 1200.0) -> list[bytes]:
    """The suite's raw lines (deterministic)."""
    config = SimulatorConfig(seed=11, customers=300, start=START, events_per_hour=events_per_hour,
                             crisis_at=START + timedelta(hours=hours / 2), invalid_ratio=0.01)
    lines: list[bytes] = []
    end = START + timedelta(hours=hours)
    for n, value in enumerate(raw_records(config)):
        try:
            payload = json.loads(value)
        except ValueError:
            lines.append(value)
            continue
        at = _aware(payload.get("occurred_at")) if isinstance(payload, dict) else None
        if at is None:  # one of the simulator's deliberately invalid records
            lines.append(value)
            continue
        if at >= end:
            break
        if n % 7 == 0:
            payload.pop("received_at", None)  # an outside producer cannot know when we received it
        lines.append(json.dumps(payload, ensure_ascii=False).encode())
        if n % 97 == 0:  # the same event id, another author on the same platform
            other = {**payload, "author": {**payload["author"], "id": f"{payload['author']['id']}-other"}}
            lines.append(json.dumps(other, ensure_ascii=False).encode())
    lines += [b"", b"{", b'{"platform": "weibo"}', "不是 JSON".encode(), b"\xff\xfe"]
    return [line for line in lines if line.strip()]


def _aware(value: object) -> datetime | None:
    try:
        at = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


@dataclass(frozen=True)
class Outcome:
    """What both runtimes must agree on."""

    profiles: dict[str, dict[str, Any]]
    dead_letters: Counter[tuple[str, bytes]]
    alerts: dict[str, tuple[str, str | None]]
    """alert id -> (rule, event key) of the rules judged post by post."""
    incidents: dict[str, tuple[str, str, int, int]]
    """incident id -> (dedup key, rule, alert count, severity) of the uncapped per-post rules."""


PER_POST_RULES = frozenset({"negative_post", "risk_terms", "purchase_intent", "influencer_positive",
                            "advocate_content", "unanswered_question"})
UNCAPPED_RULES = frozenset({"negative_post", "influencer_positive", "advocate_content"})


def observe(session: Session) -> Outcome:
    """Read the outcome from a platform database (embedded SQLite or the Kafka runtime's PostgreSQL)."""
    profiles = {row.customer_id: row.data for row in session.query(ProfileRow)}
    letters = Counter((d.stage, d.original) for d in list_dead_letters(session=session, limit=100_000))
    alerts = {row.alert_id: (row.rule, row.event_key) for row in session.query(SignalRow)
              if row.rule in PER_POST_RULES}
    incidents = {row.incident_id: (row.dedup_key, row.rule, int(row.data["count"]), row.severity)
                 for row in session.query(IncidentRow) if row.rule in UNCAPPED_RULES}
    return Outcome(profiles=profiles, dead_letters=letters, alerts=alerts, incidents=incidents)
