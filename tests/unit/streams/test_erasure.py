"""Erasure on the embedded runtime (SQLite + chDB): a person with two merged accounts, a crisis incident,
a segment membership and a dead letter is removed from every store, the files of the data dir hold none of
their strings, the incident keeps its counts, a bystander keeps everything, and a replay brings nobody back."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from alerts.tables import IncidentRow
from enrichment.lexicon import LexiconEnricher
from ingest.deadletter_store import count_dead_letters
from profile_store.privacy import count_suppressed
from profile_store.repository import find_profile_by_identity
from profile_store.segments import parse_text
from profile_store.segments.store import create_segment
from streams.config import PipelineConfig
from streams.erasure import erase, verify
from streams.runtimes.embedded import EmbeddedRuntime
from streams.storage import Storage

T0 = datetime(2032, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def stores(chdb_storage: Storage, tmp_path: Path, chdb_storage_dsn: str) -> tuple[Storage, list[Path]]:
    """The stores, and the directories their files are in."""
    return chdb_storage, [tmp_path, Path(chdb_storage_dsn.removeprefix("chdb://"))]


def _files_holding(roots: list[Path], needles: list[str]) -> dict[str, list[str]]:
    """Which files under ``roots`` hold each needle (as UTF-8 bytes)."""
    found: dict[str, list[str]] = {n: [] for n in needles}
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                for needle in needles:
                    if needle.encode() in data:
                        found[needle].append(str(path))
    return {n: files for n, files in found.items() if files}


def _raw(payload: dict) -> tuple[bytes, bytes]:
    return json.dumps(payload, ensure_ascii=False).encode(), f"{payload['platform']}:{payload['author']['id']}".encode()


def test_an_erased_person_leaves_no_trace_in_any_store_or_file_and_a_replay_brings_nobody_back(
        stores: tuple[Storage, list[Path]], event_factory) -> None:
    storage, roots = stores
    tag = uuid.uuid4().hex[:8]
    handle, text = f"Zephyrine{tag}", f"Quokkasaurus-{tag} terrible quality, broken after a day, refund now"
    email = f"zephyrine.{tag}@example.org"
    person = [
        event_factory(event_id=f"er-{tag}-1", author={"id": f"zw-{tag}", "handle": handle, "display_name": handle,
                                                      "followers": 50_000},
                      text=text, identity_hints={"email": email}, at=T0),
        event_factory(event_id=f"er-{tag}-2", platform="douyin", author={"id": f"zd-{tag}", "handle": handle,
                                                                         "display_name": handle},
                      text=f"{text} again", identity_hints={"email": email}, at=T0 + timedelta(minutes=1)),
    ]
    bystander = event_factory(event_id=f"er-{tag}-3", author={"id": f"by-{tag}", "handle": f"Bystander{tag}",
                                                               "followers": 20_000},
                              text=f"Bystander{tag} says: terrible quality, broken, refund", at=T0 + timedelta(minutes=2))
    runtime = EmbeddedRuntime(config=PipelineConfig(batch_size=10), enricher=LexiconEnricher(), storage=storage)
    with storage.session_factory.begin() as session:
        create_segment(f"er-{tag}", parse_text("platforms contains weibo"), by="t", at=T0, session=session)
    for payload in (*person, bystander):
        value, key = _raw(payload)
        runtime.publish(value, key)
    runtime.publish(b"{not json " + handle.encode(), f"weibo:zw-{tag}".encode())  # their dead letter
    runtime.drain()

    with storage.session_factory() as session:
        profile = find_profile_by_identity(f"weibo:zw-{tag}", session=session)
        assert profile is not None and set(profile.identities) >= {f"weibo:zw-{tag}", f"douyin:zd-{tag}"}
        incidents = session.scalars(select(IncidentRow)).all()
        about = [i for i in incidents if handle in json.dumps(i.data) or profile.customer_id in json.dumps(i.data)]
        assert about, "the influential complaint opened an incident naming the person"
        counts_before = {i.incident_id: i.data["count"] for i in about}
        assert count_dead_letters(session=session) == 1
    strings = [handle, f"Quokkasaurus-{tag}", email, f"zw-{tag}", f"zd-{tag}", profile.customer_id]
    assert set(_files_holding(roots, strings)) >= {handle, f"Quokkasaurus-{tag}"}, "the test can see the strings"

    record = erase(f"douyin:zd-{tag}", storage=storage, privacy=runtime.privacy, requested_by="dpo",
                   reason="ticket 7", publish=runtime.emit)

    assert record is not None and record.completed_at is not None
    assert record.counts["sql.profiles"] == 1 and record.counts["sql.profile_events"] == 2
    assert record.counts["sql.deadletters"] == 1 and record.counts["clickhouse.events"] == 2
    assert record.counts["clickhouse.old_parts_left"] == 0
    assert record.counts["suppressed_keys"] >= 4  # two accounts, the e-mail, the customer id
    for subject in (f"weibo:zw-{tag}", f"douyin:zd-{tag}", f"email:{email}", profile.customer_id):
        check = verify(subject, storage=storage, privacy=runtime.privacy)
        assert check.clean, (subject, {k: v for k, v in check.traces.items() if v})
    assert _files_holding(roots, strings) == {}
    with storage.session_factory() as session:
        assert find_profile_by_identity(f"weibo:zw-{tag}", session=session) is None
        assert find_profile_by_identity(f"weibo:by-{tag}", session=session) is not None
        kept = {i.incident_id: i for i in session.scalars(select(IncidentRow))}
        for incident_id, count in counts_before.items():
            assert kept[incident_id].data["count"] == count, "the incident keeps its counts"
            assert "[erased]" in json.dumps(kept[incident_id].data, ensure_ascii=False)
        listed = count_suppressed(session=session)
    _, rows = storage.analytics.query(f"SELECT count() FROM {storage.analytics.database}.events "
                                      "WHERE author_id = {a:String}", {"a": f"by-{tag}"})
    assert rows[0][0] == 1, "the bystander's event stays"

    for payload in person:  # a replay of the raw topic, and a new delivery
        value, key = _raw(payload)
        runtime.publish(value, key)
    value, key = _raw(event_factory(event_id=f"er-{tag}-4", author={"id": f"zw-{tag}", "handle": handle}, text=text))
    runtime.publish(value, key)
    runtime.publish(b"{not json " + handle.encode(), f"weibo:zw-{tag}".encode())  # their invalid input again
    runtime.drain()

    assert runtime.stats.suppressed == 4
    with storage.session_factory() as session:
        assert find_profile_by_identity(f"weibo:zw-{tag}", session=session) is None
        assert count_dead_letters(session=session) == 0
        assert count_suppressed(session=session) == listed
    assert verify(f"weibo:zw-{tag}", storage=storage, privacy=runtime.privacy).clean
    assert _files_holding(roots, strings) == {}


def test_erasing_an_unknown_subject_lists_nothing_and_a_second_erasure_changes_nothing(
        stores: tuple[Storage, list[Path]], event_factory) -> None:
    storage, _ = stores
    tag = uuid.uuid4().hex[:8]
    runtime = EmbeddedRuntime(config=PipelineConfig(), enricher=LexiconEnricher(), storage=storage)
    value, key = _raw(event_factory(event_id=f"twice-{tag}", author={"id": f"tw-{tag}"}, text="fine"))
    runtime.publish(value, key)
    runtime.drain()

    assert erase(f"weibo:nobody-{tag}", storage=storage, privacy=runtime.privacy, requested_by="dpo") is None
    with storage.session_factory() as session:
        assert count_suppressed(session=session) == 0
    first = erase(f"weibo:tw-{tag}", storage=storage, privacy=runtime.privacy, requested_by="dpo")
    second = erase(f"weibo:tw-{tag}", storage=storage, privacy=runtime.privacy, requested_by="dpo")

    assert first is not None and first.counts["sql.profile_events"] == 1
    assert second is not None and second.counts == {"suppressed_keys": 0}
    check = verify(f"weibo:tw-{tag}", storage=storage, privacy=runtime.privacy)
    assert check.clean and [e.erasure_id for e in check.erasures] == [first.erasure_id, second.erasure_id]
