"""The embedded runtime end to end in one process: SQLite for state, chDB for analytics, no network."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from alerts.contracts import Alert
from analytics.queries import breakdown, count_events
from analytics.rollups import Filters, sentiment_over_time
from enrichment.lexicon import LexiconEnricher
from ingest.deadletter_store import count_dead_letters, list_dead_letters
from profile_store.repository import events_of_identities, find_profile_by_identity
from streams.config import PipelineConfig
from streams.contracts import EnrichedEvent
from streams.exceptions import DeadLetterRatioExceeded
from streams.loop import FailurePolicy
from streams.runtimes.embedded import EmbeddedRuntime
from streams.storage import Storage, open_storage

T0 = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
NEGATIVE_TEXT = "terrible quality, broken after a day, I want a refund. worst purchase"


def _bytes(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


class Harness:
    """A runtime over real storage, recording every alert its listener receives."""

    def __init__(self, storage: Storage, config: PipelineConfig | None = None) -> None:
        self.storage = storage
        self.runtime = EmbeddedRuntime(
            config=config or PipelineConfig(batch_size=4), enricher=LexiconEnricher(), storage=storage
        )
        self.notified: list[Alert] = []
        self.runtime.subscribe_alerts(self.notified.append)

    def run(self, *messages: bytes) -> None:
        for message in messages:
            self.runtime.publish(message)
        self.runtime.drain()

    def profile_json(self, identity_key: str) -> str | None:
        with self.storage.session_factory() as session:
            profile = find_profile_by_identity(identity_key, session=session)
        return profile.model_dump_json() if profile else None


@pytest.fixture
def harness(sqlite_url: str) -> Iterator[Harness]:
    storage = open_storage(sqlite_url, None)
    yield Harness(storage)
    storage.close()


@pytest.fixture
def analytics_harness(sqlite_url: str, chdb_storage_dsn: str) -> Iterator[Harness]:
    storage = open_storage(sqlite_url, chdb_storage_dsn)
    yield Harness(storage)
    storage.close()


@pytest.fixture
def mixed_input(event_factory):
    """Five valid events (one confidently negative post) and three invalid messages."""
    valid = [
        event_factory(author={"id": "ann"}, text="love it, great service", at=T0),
        event_factory(author={"id": "ann"}, kind="like", text=None, at=T0 + timedelta(minutes=1)),
        event_factory(
            author={"id": "ben", "followers": 50_000}, text=NEGATIVE_TEXT, at=T0 + timedelta(minutes=2)
        ),
        event_factory(
            platform="douyin", author={"id": "cat"}, text="还不错，推荐", at=T0 + timedelta(minutes=3)
        ),
        event_factory(
            platform="douyin", author={"id": "cat"}, kind="share", text=None, at=T0 + timedelta(minutes=4)
        ),
    ]
    invalid = [
        b"\xff\xfe definitely not utf-8",
        b"{not json",
        _bytes(event_factory(author={"followers": "many"})),
    ]
    return [_bytes(p) for p in valid], invalid


def test_drain_builds_profiles_for_every_author(harness, mixed_input):
    valid, invalid = mixed_input
    harness.run(*valid, *invalid)

    for key in ("weibo:ann", "weibo:ben", "douyin:cat"):
        assert harness.profile_json(key) is not None
    ann = json.loads(harness.profile_json("weibo:ann"))
    assert ann["event_count"] == 2
    assert ann["counts_by_kind"] == {"post": 1, "like": 1}


def test_invalid_input_is_dead_lettered_with_original_bytes_and_reason(harness, mixed_input):
    valid, invalid = mixed_input
    harness.run(valid[0], invalid[0], valid[1], invalid[1], invalid[2])

    with harness.storage.session_factory() as session:
        letters = list_dead_letters(session=session)
        assert count_dead_letters(session=session) == 3
    by_original = {letter.original: letter for letter in letters}
    assert set(by_original) == set(invalid)
    assert "UTF-8" in by_original[invalid[0]].error
    assert "not JSON" in by_original[invalid[1]].error
    assert by_original[invalid[2]].field == "author.followers"
    assert by_original[invalid[2]].error.startswith("author.followers:")
    assert [by_original[m].offset for m in invalid] == [1, 3, 4]  # where in the topic they came from
    assert all(letter.stage == "decode" and letter.source_topic for letter in letters)


def test_stats_count_received_processed_and_dead_lettered(harness, mixed_input):
    valid, invalid = mixed_input
    harness.run(*valid, *invalid)

    stats = harness.runtime.stats
    assert stats.received == 8
    assert stats.processed == 5
    assert stats.dead_lettered == 3
    assert stats.duplicates == 0
    assert stats.alerts == 1
    assert stats.batches == 2  # batch_size 4
    assert harness.runtime.pending() == 0


def test_alert_listeners_are_called_once_per_new_alert(harness, mixed_input):
    valid, _ = mixed_input
    harness.run(*valid)

    assert len(harness.notified) == 1
    alert = harness.notified[0]
    assert alert.kind == "crisis"
    assert alert.event_id == json.loads(valid[2])["event_id"]


def test_replaying_the_same_input_changes_no_profile_and_notifies_nothing(harness, mixed_input):
    valid, invalid = mixed_input
    harness.run(*valid, *invalid)
    keys = ("weibo:ann", "weibo:ben", "douyin:cat")
    before = {key: harness.profile_json(key) for key in keys}
    notified = list(harness.notified)

    harness.run(*valid)

    assert {key: harness.profile_json(key) for key in keys} == before
    assert harness.notified == notified
    stats = harness.runtime.stats
    assert (stats.processed, stats.duplicates, stats.alerts) == (5, 5, 1)


def test_replay_mixed_with_new_events_notifies_only_the_new_alerts(harness, event_factory, mixed_input):
    valid, _ = mixed_input
    harness.run(*valid)
    fresh_negative = _bytes(
        event_factory(author={"id": "dee", "followers": 20_000}, text=NEGATIVE_TEXT, at=T0 + timedelta(hours=1))
    )

    harness.run(*valid, fresh_negative)

    assert [a.event_id for a in harness.notified] == [
        json.loads(valid[2])["event_id"],
        json.loads(fresh_negative)["event_id"],
    ]


def test_replayed_alert_is_not_renotified_when_another_platform_reuses_its_event_id(harness, event_factory):
    negative = _bytes(
        event_factory(
            event_id="same-id", platform="weibo", author={"id": "eve", "followers": 20_000}, text=NEGATIVE_TEXT, at=T0
        )
    )
    harness.run(negative)
    assert len(harness.notified) == 1

    other_platform = _bytes(
        event_factory(event_id="same-id", platform="x", author={"id": "eve"}, text="love it", at=T0)
    )
    harness.run(negative, other_platform)

    assert len(harness.notified) == 1
    assert harness.runtime.stats.alerts == 1


def test_events_without_received_at_are_stored_with_the_time_the_runtime_took_them_in(harness, event_factory):
    """What ``scrm run`` does with a file an outside producer wrote: no receive time, none dead-lettered."""
    payloads = [event_factory(author={"id": "ivy"}, at=T0 + timedelta(minutes=n)) for n in range(3)]
    for payload in payloads:
        del payload["received_at"]
    before = datetime.now(UTC)

    harness.run(*[_bytes(p) for p in payloads])

    stats = harness.runtime.stats
    assert (stats.processed, stats.dead_lettered) == (3, 0)
    ivy = json.loads(harness.profile_json("weibo:ivy") or "null")
    assert ivy["event_count"] == 3
    with harness.storage.session_factory() as session:
        stored = [EnrichedEvent.model_validate(d) for d in events_of_identities(["weibo:ivy"], session=session)]
    assert all(before <= e.event.received_at <= datetime.now(UTC) for e in stored)


def test_a_restarted_runtime_replaying_its_input_with_ids_now_reused_by_other_authors_applies_them(
    sqlite_url, event_factory
):
    """``scrm demo`` restarted on its data dir regenerates its stream: the same event ids, some now by
    other authors (one never seen before: its event's old key was stored, so it used to be left unregistered
    and crash the pipeline). The replayed events change nothing, the others are new events."""
    first = [_bytes(event_factory(event_id=f"sim-{n}", author={"id": author}, at=T0 + timedelta(minutes=n)))
             for n, author in enumerate(["ann", "ben"])]
    again = [_bytes(event_factory(event_id=f"sim-{n}", author={"id": author}, at=T0 + timedelta(minutes=n)))
             for n, author in enumerate(["ben", "cat"])]
    storage = open_storage(sqlite_url, None)
    Harness(storage).run(*first)
    storage.close()

    storage = open_storage(sqlite_url, None)
    try:
        restarted = Harness(storage)
        restarted.run(*first, *again)
        stats = restarted.runtime.stats
        assert (stats.processed, stats.duplicates, stats.dead_lettered) == (2, 2, 0)
        profiles = {author: json.loads(restarted.profile_json(f"weibo:{author}") or "null")
                    for author in ("ann", "ben", "cat")}
        assert {author: sorted(item["event_id"] for item in profile["timeline"])
                for author, profile in profiles.items()} == {"ann": ["sim-0"], "ben": ["sim-0", "sim-1"], "cat": ["sim-1"]}
    finally:
        storage.close()


@pytest.mark.parametrize("window", [200, 20], ids=["default-sized window", "window smaller than min samples"])
def test_a_runtime_that_dead_letters_everything_stops(sqlite_url, window):
    storage = open_storage(sqlite_url, None)
    try:
        harness = Harness(
            storage, PipelineConfig(batch_size=50, dead_letter_window=window, dead_letter_max_ratio=0.5)
        )
        for _ in range(150):
            harness.runtime.publish(b"garbage")
        with pytest.raises(DeadLetterRatioExceeded):
            harness.runtime.drain()
    finally:
        storage.close()


# ----------------------------------------------------------------- with analytics (shared chDB path)


def test_analytics_reflect_what_was_written_and_replay_does_not_double_count(
    analytics_harness, event_factory
):
    brand = "brand-embedded-analytics"
    at = datetime(2026, 9, 14, 10, 0, tzinfo=UTC)
    payloads = [
        event_factory(event_id="emb-an-1", brand=brand, author={"id": "fay"}, text="love it, great", at=at),
        event_factory(
            event_id="emb-an-2",
            brand=brand,
            author={"id": "fay", "followers": 20_000},
            text=NEGATIVE_TEXT,
            at=at + timedelta(minutes=10),
        ),
        event_factory(
            event_id="emb-an-3",
            brand=brand,
            platform="douyin",
            author={"id": "gus"},
            kind="like",
            text=None,
            at=at + timedelta(hours=1, minutes=5),
        ),
    ]
    client = analytics_harness.storage.analytics
    total_before = count_events(client)

    analytics_harness.run(*[_bytes(p) for p in payloads])
    analytics_harness.run(*[_bytes(p) for p in payloads])  # at-least-once: replayed

    assert count_events(client) - total_before == 3
    by_brand = {row["key"]: row for row in breakdown(client, by="brand", since=at - timedelta(days=1))}
    assert by_brand[brand]["count"] == 3
    assert by_brand[brand]["negative"] == 1
    series = sentiment_over_time(client, Filters(since=at - timedelta(hours=1), brand=brand), bucket_minutes=60)
    assert {
        (
            row["bucket"].replace(tzinfo=UTC) if row["bucket"].tzinfo is None else row["bucket"],
            row["sentiment"],
            row["count"],
        )
        for row in series
    } == {
        (at, "positive", 1),
        (at, "negative", 1),
    }, "the like has no text: no sentiment, not a neutral one"
    assert len(analytics_harness.notified) == 1


def test_a_running_runtime_takes_a_lone_event_at_once_and_batches_what_arrives_within_its_window(
    sqlite_url, event_factory
):
    storage = open_storage(sqlite_url, None)
    window = 1.5
    runtime = Harness(storage, PipelineConfig(batch_size=100, batch_max_ms=int(window * 1000))).runtime
    stop = threading.Event()
    thread = threading.Thread(target=runtime.run, args=(stop,))
    thread.start()

    def processed_within(count: int, seconds: float) -> float | None:
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            if runtime.stats.processed >= count:
                return time.monotonic() - start
            time.sleep(0.01)
        return None

    try:
        runtime.publish(_bytes(event_factory(author={"id": "ann"})))
        assert (processed_within(1, 5.0) or 99) < window / 2, "an idle runtime does not hold a lone event"
        for name in ("ben", "cat", "dan"):
            runtime.publish(_bytes(event_factory(author={"id": name})))
        assert processed_within(4, window / 3) is None, "events right after a batch wait for the window"
        assert processed_within(4, 5.0) is not None
        assert runtime.stats.batches == 2
    finally:
        stop.set()
        thread.join(timeout=30)
        storage.close()


# ------------------------------------------------------------------------------------- failing lanes


def _fails_for(author: str, error: Exception):
    """An apply step that fails on every batch holding ``author``'s events, and works otherwise."""
    import streams.lanes.apply as apply_lane

    real = apply_lane.apply_enriched_batch

    def apply(events, **kwargs):
        if any(e.event.author.id == author for e in events):
            raise error
        return real(events, **kwargs)

    return apply


def test_a_record_the_apply_lane_fails_on_every_time_is_dead_lettered_and_the_rest_is_applied(
    sqlite_url, event_factory, monkeypatch
):
    import streams.lanes.apply as apply_lane

    monkeypatch.setattr(apply_lane, "apply_enriched_batch", _fails_for("poison", KeyError("douyin:d-7")))
    storage = open_storage(sqlite_url, None)
    try:
        harness = Harness(storage, PipelineConfig(batch_size=10, failures=FailurePolicy(backoff_seconds=0)))
        authors = ["a1", "a2", "poison", "a3", "a4"]
        harness.run(*[_bytes(event_factory(author={"id": a}, at=T0)) for a in authors])
        with storage.session_factory() as session:
            (letter,) = list_dead_letters(session=session)
        assert letter.stage == "apply" and "KeyError" in letter.error and b'"poison"' in letter.original
        assert all(harness.profile_json(f"weibo:{a}") for a in authors if a != "poison")
        assert harness.profile_json("weibo:poison") is None
        assert harness.runtime.failure is None
    finally:
        storage.close()


def _run_until(runtime: EmbeddedRuntime, done) -> threading.Thread:
    stop = threading.Event()
    thread = threading.Thread(target=runtime.run, args=(stop,), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not done() and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    stop.set()
    thread.join(timeout=30)
    return thread


def test_a_running_runtime_restarts_its_lanes_after_an_outage_and_loses_nothing(
    sqlite_url, event_factory, monkeypatch
):
    from sqlalchemy.exc import OperationalError

    import streams.lanes.apply as apply_lane

    real, calls = apply_lane.apply_enriched_batch, {"n": 0}

    def flaky(events, **kwargs):
        calls["n"] += 1
        if calls["n"] <= 3:  # the database is away for three tries: longer than one lane's retries
            raise OperationalError("INSERT", {}, ConnectionRefusedError("database away"))
        return real(events, **kwargs)

    monkeypatch.setattr(apply_lane, "apply_enriched_batch", flaky)
    storage = open_storage(sqlite_url, None)
    try:
        config = PipelineConfig(failures=FailurePolicy(transient_attempts=2, backoff_seconds=0))
        runtime = EmbeddedRuntime(config=config, enricher=LexiconEnricher(), storage=storage)
        for n in range(5):
            runtime.publish(_bytes(event_factory(author={"id": f"u{n}"}, at=T0)))
        _run_until(runtime, lambda: runtime.stats.processed == 5)
        assert runtime.stats.processed == 5 and runtime.stats.restarts >= 1
        assert runtime.failure is None
    finally:
        storage.close()


def test_a_runtime_whose_database_stays_away_stops_says_why_and_health_turns_503(
    sqlite_url, event_factory, monkeypatch
):
    from fastapi.testclient import TestClient
    from sqlalchemy.exc import OperationalError

    import streams.lanes.apply as apply_lane
    from api.app import ApiServices, create_app

    monkeypatch.setattr(apply_lane, "apply_enriched_batch",
                        _fails_for("u0", OperationalError("INSERT", {}, ConnectionRefusedError("database away"))))
    storage = open_storage(sqlite_url, None)
    try:
        config = PipelineConfig(failures=FailurePolicy(transient_attempts=2, backoff_seconds=0))
        runtime = EmbeddedRuntime(config=config, enricher=LexiconEnricher(), storage=storage)
        runtime.publish(_bytes(event_factory(author={"id": "u0"}, at=T0)))
        thread = _run_until(runtime, lambda: runtime.failure is not None)
        assert not thread.is_alive(), "the runtime gave up instead of serving a dead pipeline"
        assert "OperationalError" in (runtime.failure or "") and runtime.exit_code == 75
        app = create_app(ApiServices(session_factory=storage.session_factory, api_keys={}, enricher=LexiconEnricher(),
                                     submit_links=runtime.submit_links, pipeline_failure=lambda: runtime.failure))
        health = TestClient(app).get("/healthz")
        assert health.status_code == 503 and health.json()["status"] == "failing"
        assert runtime.pending() == 2, "its enriched record still waits for the apply and alert lanes"
    finally:
        storage.close()


def test_a_brands_own_account_builds_no_profile_and_answers_for_the_brand(sqlite_url, event_factory):
    """Configured brand accounts (a connectors file's [brands.<brand>] tables): their posts and replies
    are stored and counted, but no customer profile is built for them and they raise no alert."""
    from alerts.config import AlertingConfig

    config = PipelineConfig(batch_size=4, alerts=AlertingConfig().with_brand_accounts(["weibo:acme-official"],
                                                                                      ["acme_official"]))
    storage = open_storage(sqlite_url, None)
    try:
        harness = Harness(storage, config)
        official = {"id": "acme-official", "handle": "Acme官方微博", "followers": 2_000_000, "verified": True}
        harness.run(
            _bytes(event_factory(event_id="p1", author=official, text=NEGATIVE_TEXT, at=T0)),
            _bytes(event_factory(event_id="c1", author={"id": "dan"}, kind="comment", parent_id="p1",
                                 text="love it, great service", at=T0 + timedelta(minutes=1))),
            _bytes(event_factory(event_id="r1", author=official, kind="reply", parent_id="c1", text="谢谢支持",
                                 at=T0 + timedelta(minutes=2))),
            _bytes(event_factory(event_id="x1", platform="x", author={"id": "9001", "handle": "acme_official"},
                                 text="Our holiday sale starts today", at=T0 + timedelta(minutes=3))),
        )
        assert harness.runtime.stats.processed == 4
        assert harness.profile_json("weibo:acme-official") is None
        assert harness.profile_json("x:9001") is None, "known by its handle only, still the brand's"
        assert harness.profile_json("weibo:dan") is not None
        assert harness.notified == []
        with storage.session_factory() as session:
            assert len(events_of_identities(["weibo:acme-official"], session=session)) == 2
    finally:
        storage.close()
