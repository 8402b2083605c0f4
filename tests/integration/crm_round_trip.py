"""The CRM round trip both runtimes must agree on: events, a CRM import, more events (one joining a social
account to a CRM-only customer), then the export. ``run_scenario`` takes how a runtime applies raw lines
and waits; ``Outcome`` is what a user sees afterwards (the export, segment members, next actions)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from profile_store.crm_export import iter_export_rows, render_jsonl
from profile_store.crm_import import parse_crm_csv
from profile_store.next_action_store import next_actions
from profile_store.repository import find_profile_by_identity
from profile_store.segments import parse_rule
from profile_store.segments.store import count_members, create_segment
from streams.jobs.crm_import import import_crm
from streams.storage import Storage

START = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
IMPORTED_AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
CRM = (
    "crm_id,name,tier,lifetime_value,owner,tags,visits:integer,consent_marketing,weibo,douyin,loyalty_member,since:date\n"
    "C1001,Li Ming,gold,1200.5,sales-1,vip;beta,3,yes,w1,,,2024-01-02\n"
    "C1002,Bob Wang,silver,300,sales-2,,,no,,,,\n"
    "C1003,Cat Chen,bronze,80,,,1,,,d1,yes,\n"
)
Apply = Callable[[list[bytes], Callable[[Storage], bool]], None]
"""Publish raw lines and block until ``done(storage)`` holds (the runtime applied them)."""


def event(platform: str, author: str, n: int, text: str, **extra: Any) -> bytes:
    at = START + timedelta(hours=n)
    return json.dumps({
        "event_id": f"{platform}-{author}-{n}", "platform": platform, "kind": "post", "occurred_at": at.isoformat(),
        "received_at": (at + timedelta(seconds=3)).isoformat(),
        "author": {"id": author, "handle": f"{author}_h", "display_name": f"Name {author}", "followers": 100},
        "brand": "acme", "text": text, "source": "test", **extra}).encode()


@dataclass(frozen=True)
class Outcome:
    export: list[dict[str, Any]]
    members: dict[str, int]
    actions: list[tuple[str | None, str, float]]


def run_scenario(storage: Storage, apply: Apply) -> Outcome:
    """Blocks until the runtime applied everything."""
    with storage.session_factory.begin() as session:
        create_segment("gold", parse_rule({"field": "crm.tier", "op": "eq", "value": "gold"}), by="test",
                       at=IMPORTED_AT, session=session)
        create_segment("mailable", parse_rule({"field": "consent.marketing", "op": "eq", "value": True}), by="test",
                       at=IMPORTED_AT, session=session)
    apply([event("weibo", "w1", 1, "这个手机怎么样？"), event("douyin", "d1", 2, "not bad")],
          lambda s: _events_of(s, "weibo:w1") == 1 and _events_of(s, "douyin:d1") == 1)
    imported = parse_crm_csv(CRM.splitlines(keepends=True), source_name="crm.csv", at=IMPORTED_AT)
    assert imported.errors == ()
    import_crm(imported, source="crm.csv", at=IMPORTED_AT, session_factory=storage.session_factory)
    apply([event("douyin", "d5", 3, "好评，推荐", identity_hints={"crm_id": "C1002"}),
           event("weibo", "w1", 4, "客服很好，满意"), event("douyin", "d1", 5, "质量太差，我要退款，再也不买了")],
          lambda s: _customer_of(s, "douyin:d5") == _customer_of(s, "crm:C1002") is not None
          and _events_of(s, "weibo:w1") == 2 and _events_of(s, "douyin:d1") == 2)  # d5 merged into C1002
    with storage.session_factory() as session:
        lines = "".join(render_jsonl(iter_export_rows(session=session)))
        members = {name: count_members(name, session=session) for name in ("gold", "mailable")}
        actions = [(a.crm_id, a.action, a.score) for a in next_actions("acme", session=session).actions]
    return Outcome(export=[json.loads(line) for line in lines.splitlines()], members=members, actions=actions)


def _events_of(storage: Storage, identity: str) -> int:
    with storage.session_factory() as session:
        profile = find_profile_by_identity(identity, session=session)
    return profile.event_count if profile is not None else 0


def _customer_of(storage: Storage, identity: str) -> str | None:
    with storage.session_factory() as session:
        profile = find_profile_by_identity(identity, session=session)
    return profile.customer_id if profile is not None else None
