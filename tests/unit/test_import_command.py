"""``scrm import`` end to end on the embedded runtime: a MediaCrawler export imports once, its profiles and
dead letters are there, and importing it again changes nothing.

Runs the command in a child process: chDB allows one data path per process, and this test's data dir is
its own (the rest of the unit suite shares one chDB path).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

import ingest.producer
from ingest.deadletter_store import find_dead_letters
from profile_store.repository import find_profile_by_identity
from profile_store.tables import IdentityRow, ProfileEventRow, ProfileRow
from scrm.cli import main
from streams.storage import open_storage

FIXTURES = Path(__file__).parent / "ingest" / "fixtures" / "mediacrawler" / "data"
SRC = Path(__file__).resolve().parents[2] / "src"


def _scrm_import(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(SRC), "SCRM_ENRICHMENT__MODEL": "lexicon"}  # no model files to load
    return subprocess.run([sys.executable, "-m", "scrm.cli", "import", *args], capture_output=True, text=True,
                          env=env, timeout=300)


def _state(data_dir: Path) -> dict[str, object]:
    storage = open_storage(f"sqlite:///{data_dir / 'scrm.sqlite'}", None)
    try:
        with storage.session_factory() as session:
            counts = {table.__tablename__: session.scalar(select(func.count()).select_from(table))
                      for table in (ProfileRow, IdentityRow, ProfileEventRow)}
            profile = find_profile_by_identity("xiaohongshu:60aa00000000000001000001", session=session)
            letters = find_dead_letters(session=session, stage="import")
        return {**counts, "commenter_events": profile.event_count if profile else None,
                "dead_letters": [(d.letter.source_topic, d.letter.offset) for d in letters]}
    finally:
        storage.close()


def test_a_mediacrawler_export_imports_once_and_again_changes_nothing(tmp_path):
    export = tmp_path / "data"
    shutil.copytree(FIXTURES, export)  # MediaCrawler's data/<platform>/<format>/ layout names the platforms
    files = sorted(str(p) for p in export.rglob("*") if p.is_file())
    data_dir = tmp_path / "scrm"

    first = _scrm_import("mediacrawler", *files, "--data-dir", str(data_dir), "--brand", "acme")

    assert first.returncode == 0, first.stderr
    total = next(line for line in first.stdout.splitlines() if line.startswith("total")).split()
    assert total[1:5] == ["21", "19", "1", "1"]  # rows, events, dead letters, skipped
    after_first = _state(data_dir)
    assert after_first["profile_events"] == 19
    assert after_first["commenter_events"] == 2  # the xhs commenter's two comments, one profile
    assert after_first["dead_letters"] == [("import:mediacrawler:search_comments_2026-08-01.csv", 3)]
    assert "19 events applied" in first.stderr

    again = _scrm_import("mediacrawler", *files, "--data-dir", str(data_dir))

    assert again.returncode == 0, again.stderr
    assert "0 events applied, 19 already known" in again.stderr
    assert _state(data_dir) == after_first


def test_a_file_that_is_not_of_the_format_is_reported_and_the_others_still_import(tmp_path):
    loose = tmp_path / "search_comments_2024-06-01.json"  # no platform directory, no --platform
    shutil.copy(FIXTURES / "xhs/json/search_comments_2024-06-01.json", loose)
    known = tmp_path / "xhs" / "search_contents_2024-06-01.json"
    known.parent.mkdir()
    shutil.copy(FIXTURES / "xhs/json/search_contents_2024-06-01.json", known)

    result = _scrm_import("mediacrawler", str(loose), str(known), "--data-dir", str(tmp_path / "scrm"))

    assert result.returncode == 1
    assert "give --platform" in result.stderr
    assert _state(tmp_path / "scrm")["profile_events"] == 2


def test_with_kafka_events_go_to_the_raw_topic_and_dead_letters_to_the_dead_letter_topic(tmp_path, monkeypatch):
    sent: list[tuple[str, bytes]] = []

    def publish_raw(bootstrap, values, *, topic, connection=None):  # stands in for the acks=all producer
        sent.extend((topic, value) for value in values)
        return len(values)

    monkeypatch.setattr(ingest.producer, "publish_raw", publish_raw)
    comments = FIXTURES / "douyin" / "csv" / "search_comments_2026-08-01.csv"

    assert main(["import", "mediacrawler", str(comments), "--kafka", "--bootstrap", "127.0.0.1:1"]) == 0

    assert [topic for topic, _ in sent] == ["scrm.events.raw", "scrm.events.raw", "scrm.deadletter"]
    letter = json.loads(sent[2][1])
    assert (letter["stage"], letter["source_topic"], letter["offset"]) == (
        "import", "import:mediacrawler:search_comments_2026-08-01.csv", 3)
