"""Saved segments: members evaluated over every existing profile on creation, re-evaluation that reports
who entered and left (keeping the ``since`` of those who stay), keyset pages, a preview count, and the
``scrm segments`` commands on a data dir (CSV header and rows, refused rules exit 2 with the reason)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from segment_cases import EVENTS, PROFILES, store
from sqlalchemy import update

from profile_store.exceptions import SegmentExists
from profile_store.segments import parse_rule, parse_text
from profile_store.segments.membership import segment_history
from profile_store.segments.store import (
    count_matching,
    create_segment,
    delete_segment,
    event_clock,
    get_segment,
    iter_members,
    list_segments,
    members_page,
    reevaluate,
)
from profile_store.tables import ProfileRow
from scrm.cli import main
from streams.storage import open_storage

AT = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
LATER = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
FANS = {"field": "lifecycle", "op": "in", "value": ["fan", "advocate"]}


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    storage = open_storage(f"sqlite:///{tmp_path}/scrm.sqlite", None)
    with storage.session_factory.begin() as session:
        store(session, PROFILES, EVENTS)
    storage.close()
    return tmp_path


@pytest.fixture
def sessions(data_dir: Path):
    storage = open_storage(f"sqlite:///{data_dir}/scrm.sqlite", None)
    yield storage.session_factory
    storage.close()


def test_a_new_segment_holds_every_matching_profile_at_once(sessions):
    with sessions.begin() as session:
        assert count_matching(parse_rule(FANS), session=session) == 2
        segment = create_segment("fans", parse_rule(FANS), by="mia@acme.com", at=AT, session=session)
    assert (segment.members, segment.created_by) == (2, "mia@acme.com")
    assert segment.clock == max(p["profile"].last_seen for p in PROFILES.values()), "the event-time clock"
    with sessions() as session:
        assert [m.customer_id for m in members_page("fans", session=session)] == ["ann", "bo"]
        assert [m.customer_id for m in members_page("fans", after="ann", session=session)] == ["bo"]
        assert [m.customer_id for m in members_page("fans", limit=1, session=session)] == ["ann"]
        assert [m.customer_id for m in iter_members("fans", page=1, session=session)] == ["ann", "bo"]
        assert [s.name for s in list_segments(session=session)] == ["fans"]
    with sessions.begin() as session, pytest.raises(SegmentExists):
        create_segment("fans", parse_rule(FANS), by="x", at=AT, session=session)


def test_re_evaluation_reports_entries_and_leaves_and_keeps_since(sessions):
    with sessions.begin() as session:
        create_segment("fans", parse_rule(FANS), by="mia", at=AT, session=session)
        session.execute(update(ProfileRow).where(ProfileRow.customer_id == "bo").values(lifecycle="detractor"))
        session.execute(update(ProfileRow).where(ProfileRow.customer_id == "cy").values(lifecycle="fan"))
        assert reevaluate("fans", at=LATER, session=session) == (1, 1)
        assert reevaluate("fans", at=LATER, session=session) == (0, 0)
        changes = [(c.customer_id, c.change) for c in segment_history("fans", session=session)]
        assert changes == [("ann", "enter"), ("bo", "enter"), ("bo", "leave"), ("cy", "enter")]
    with sessions() as session:
        since = {m.customer_id: m.since for m in members_page("fans", session=session)}
        assert since == {"ann": AT, "cy": LATER}
        assert get_segment("fans", session=session).members == 2  # type: ignore[union-attr]
        assert event_clock(session=session) is not None
    with sessions.begin() as session:
        assert delete_segment("fans", session=session) and not delete_segment("fans", session=session)
        assert members_page("fans", session=session) == []


def test_the_commands_create_export_and_refuse(data_dir, capsys, tmp_path):
    rule = tmp_path / "fans.txt"
    rule.write_text("lifecycle in (fan, advocate) and platforms contains weibo", encoding="utf-8")
    assert main(["segments", "preview", "--rule-file", str(rule), "--data-dir", str(data_dir)]) == 0
    assert json.loads(capsys.readouterr().out) == {"members": 2}
    assert main(["segments", "create", "weibo-fans", "--rule-file", str(rule), "--data-dir", str(data_dir)]) == 0
    assert json.loads(capsys.readouterr().out)["members"] == 2
    assert main(["segments", "members", "weibo-fans", "--format", "csv", "--data-dir", str(data_dir)]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["customer_id"], r["lifecycle"]) for r in rows] == [("ann", "fan"), ("bo", "advocate")]
    assert set(rows[0]) >= {"customer_id", "display_name", "lifecycle", "influence"}
    assert rows[0]["display_name"] == "Ann 小红" and float(rows[0]["influence"]) == 72.5

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"all": [{"field": "lifecyle", "op": "eq", "value": "fan"}]}), encoding="utf-8")
    assert main(["segments", "create", "typo", "--rule-file", str(bad), "--data-dir", str(data_dir)]) == 2
    assert "unknown field 'lifecyle'" in capsys.readouterr().err
    assert main(["segments", "create", "Bad Name", "--rule-file", str(rule), "--data-dir", str(data_dir)]) == 2
    assert main(["segments", "create", "weibo-fans", "--rule-file", str(rule), "--data-dir", str(data_dir)]) == 1
    assert main(["segments", "show", "nope", "--data-dir", str(data_dir)]) == 1
    capsys.readouterr()
    assert main(["segments", "show", "weibo-fans", "--data-dir", str(data_dir)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["rule"] == parse_text(rule.read_text()).to_json() and shown["members"] == 2
    assert parse_text(shown["text"]) == parse_text(rule.read_text()), "the text form shown means the same rule"
    assert main(["segments", "refresh", "--data-dir", str(data_dir)]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[0]) == {"segment": "weibo-fans", "entered": 0, "left": 0}
    assert main(["segments", "delete", "weibo-fans", "--data-dir", str(data_dir)]) == 0


def test_the_built_in_segments_are_created_once_and_select_what_they_say(sessions):
    from profile_store.segments.builtins import BUILTINS, install_builtins

    with sessions.begin() as session:
        created = install_builtins(at=AT, session=session)
        assert [s.name for s in created] == [name for name, _ in BUILTINS]
        assert install_builtins(at=AT, session=session) == []
    with sessions() as session:
        members = {name: {m.customer_id for m in members_page(name, session=session)} for name, _ in BUILTINS}
    lifecycles = {cid: entry["profile"].lifecycle for cid, entry in PROFILES.items()}
    assert members["fans"] == {c for c, lc in lifecycles.items() if lc == "fan"}
    assert members["detractors"] == {c for c, lc in lifecycles.items() if lc == "detractor"}
    assert members["influencers"] == {c for c, e in PROFILES.items() if e["profile"].influence >= 60}


def test_the_sweep_moves_members_whose_time_window_closed(sessions):
    from streams.jobs.segments import sweep_segments

    with sessions.begin() as session:
        create_segment("everyone", parse_text("event_count >= 0"), by="t", at=AT, session=session)
        session.execute(update(ProfileRow).where(ProfileRow.customer_id == "bo").values(event_count=-1))
    assert sweep_segments(sessions) == {"everyone": (0, 1)}
    assert sweep_segments(sessions) == {"everyone": (0, 0)}


def test_the_sweep_publishes_its_changes_at_least_once(sessions):
    """A sweeper that cannot publish (the broker away, or killed after the commit) leaves its changes
    recorded; the next sweep publishes them first, once, and a sweep that moves nobody publishes nothing."""
    from streams.jobs.segments import sweep_segments

    with sessions.begin() as session:
        create_segment("everyone", parse_text("event_count >= 0"), by="t", at=AT, session=session)
        session.execute(update(ProfileRow).where(ProfileRow.customer_id == "bo").values(event_count=-1))

    def broker_away(changes):
        raise RuntimeError("broker away")

    with pytest.raises(RuntimeError):
        sweep_segments(sessions, publish=broker_away, now=lambda: AT)
    published: list = []
    assert sweep_segments(sessions, publish=published.extend, now=lambda: LATER) == {"everyone": (0, 0)}
    assert [(c.segment, c.customer_id, c.change, c.cause) for c in published] == [
        ("everyone", "bo", "leave", "sweep:1796288400000000")]
    assert sweep_segments(sessions, publish=published.extend) == {"everyone": (0, 0)}
    assert len(published) == 1, "the evaluation before moved nobody: nothing to publish again"
