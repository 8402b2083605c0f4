"""The input and the observable outcome of the runtime contract suite (``test_runtime_contract.py``).

``contract_input`` is a seeded stream as outside producers write it: a calm hour, then a crisis forming,
identity hints that merge accounts, junk lines, events without ``received_at``, event ids reused by
other authors, and a closing post from every account hours later (it settles every window). ``Outcome`` is what a user can see afterwards — profiles, incidents, alerts and dead
letters — without what legitimately differs between runtimes (partition/offset numbers, wall-clock stamps).
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
from ingest.simulator.population import brand_accounts
from profile_store.tables import ProfileRow

START = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)


def contract_config(*, hours: float = 2.0, events_per_hour: float = 1200.0) -> SimulatorConfig:
    """The simulator config of ``contract_input``."""
    return SimulatorConfig(seed=11, customers=300, start=START, events_per_hour=events_per_hour,
                           crisis_at=START + timedelta(hours=hours / 2), invalid_ratio=0.01)


def brand_account_keys() -> list[str]:
    """The identity keys of the contract input's brand accounts (configured as not customers)."""
    return [key for accounts in brand_accounts(contract_config()).values() for key in accounts.accounts]


def contract_input(*, hours: float = 2.0, events_per_hour: float = 1200.0) -> list[bytes]:
    """The suite's raw lines (deterministic)."""
    config = contract_config(hours=hours, events_per_hour=events_per_hour)
    lines: list[bytes] = []
    authors: dict[tuple[str, str], dict[str, Any]] = {}
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
        authors.setdefault((payload["platform"], payload["author"]["id"]), payload)
        if n % 97 == 0:  # the same event id, another author on the same platform
            other = {**payload, "author": {**payload["author"], "id": f"{payload['author']['id']}-other"}}
            lines.append(json.dumps(other, ensure_ascii=False).encode())
    lines += _closing_posts(authors, end + timedelta(hours=3))
    lines += [b"", b"{", b'{"platform": "weibo"}', "不是 JSON".encode(), b"\xff\xfe"]
    return [line for line in lines if line.strip()]


def _closing_posts(authors: dict[tuple[str, str], dict[str, Any]], at: datetime) -> list[bytes]:
    """One quiet post from every account, hours after the rest: it moves every partition's watermark past
    the input, so every window and question of the input is settled on every runtime (what is still
    within the allowance at the end is in flight, and a runtime's last watermark depends on its partitions)."""
    closing = []
    for n, ((platform, _), payload) in enumerate(sorted(authors.items())):
        closing.append(json.dumps({
            "event_id": f"closing-{n}", "platform": platform, "kind": "post", "author": payload["author"],
            "occurred_at": (at + timedelta(seconds=n)).isoformat(), "source": payload.get("source", "contract"),
            "text": "ok", **({"brand": payload["brand"]} if payload.get("brand") else {}),
        }, ensure_ascii=False).encode())
    return closing


def _aware(value: object) -> datetime | None:
    try:
        at = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


@dataclass(frozen=True)
class Outcome:
    """What both runtimes must agree on. ``incidents``: id -> (dedup key, rule, count, severity);
    ``alerts``: id -> (rule, incident id, event id)."""

    profiles: dict[str, dict[str, Any]]
    dead_letters: Counter[tuple[str, bytes]]
    incidents: dict[str, tuple[str, str, int, int]]
    alerts: dict[str, tuple[str, str | None, str]]


def observe(session: Session) -> Outcome:
    """Read the outcome from a platform database (embedded SQLite or the Kafka runtime's PostgreSQL)."""
    profiles = {row.customer_id: row.data for row in session.query(ProfileRow)}
    letters = Counter((d.stage, d.original) for d in list_dead_letters(session=session, limit=100_000))
    incidents = {row.incident_id: (row.dedup_key, row.rule, int(row.data["count"]), row.severity)
                 for row in session.query(IncidentRow)}
    alerts = {row.alert_id: (row.rule, row.incident_id, str(row.data["event_id"])) for row in session.query(SignalRow)}
    return Outcome(profiles=profiles, dead_letters=letters, incidents=incidents, alerts=alerts)
