"""Order-independent detectors: the same posts from two sources, fed in several interleavings (every
source in its own order, within the late allowance), give the same incidents and alerts as one ordered
stream; a post later than the allowance is counted as late, whatever the batches."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alert_builders import T0, calm_stream, make_post, negative
from sqlalchemy import select

from alerts.config import AlertingConfig, SpikeConfig, VelocityConfig
from alerts.contracts import ScoredPost
from alerts.pipeline import process_posts
from alerts.tables import DetectorStateRow, IncidentRow, SignalRow
from streams.storage import open_storage

CONFIG = AlertingConfig(
    spike=SpikeConfig(cold_start_count=8, min_count=5, min_baseline_windows=2),
    velocity=VelocityConfig(min_interactions=4, window_minutes=30),
)
WALL = T0 + timedelta(days=1)


def _posts() -> list[ScoredPost]:
    """Two hours of chatter, a burst of complaints, a complaint shared fast, a question nobody answers and
    a purchase intent, in event-time order."""
    burst = T0 + timedelta(minutes=62)
    posts = calm_stream(T0, 3, per_hour=40, negatives_per_hour=2)
    posts += [negative(burst + timedelta(seconds=20 * i + 3), topics=("delivery_logistics",)) for i in range(14)]
    spreading = negative(T0 + timedelta(minutes=80, seconds=1), text="never buying again, awful")
    posts.append(spreading)
    posts += [make_post(at=T0 + timedelta(minutes=81, seconds=11 * i), kind="share", parent_id=spreading.event.event_id,
                        text=None) for i in range(6)]
    posts.append(make_post(at=T0 + timedelta(minutes=30, seconds=5), text="does it work with my old charger?",
                           intents=("question",)))
    posts.append(make_post(at=T0 + timedelta(minutes=45, seconds=9), text="where can i buy one", intents=("purchase_intent",)))
    return sorted(posts, key=lambda p: p.event.occurred_at_utc)


def _run(path: Path, batches: list[tuple[list[ScoredPost], dict[str, datetime]]], *, positions: int,
         config: AlertingConfig = CONFIG):
    storage = open_storage(f"sqlite:///{path}", None)
    try:
        for posts, progress in batches:
            with storage.session_factory() as session, session.begin():
                process_posts(posts, (), config=config, now=WALL, session=session, progress=progress,
                              positions=positions)
        with storage.session_factory() as session:
            incidents = {r.incident_id: (r.dedup_key, r.rule, r.data["count"], r.severity)
                         for r in session.scalars(select(IncidentRow))}
            alerts = {r.alert_id: (r.rule, r.incident_id, r.data["event_id"]) for r in session.scalars(select(SignalRow))}
            late = {r.key: r.data.get("late") for r in session.scalars(select(DetectorStateRow))
                    if r.key.startswith("scope:")}
        return incidents, alerts, late
    finally:
        storage.close()


def _interleaved(posts: list[ScoredPost], seed: int) -> list[tuple[list[ScoredPost], dict[str, datetime]]]:
    """The posts split by author into two sources, each read in order, in random chunks: batches that
    take a few posts from whichever source the seed picks, with the progress each batch shows."""
    sources = [[p for p in posts if int(p.event.author.id[1:]) % 2 == s] for s in (0, 1)]
    rng = random.Random(seed)
    batches = []
    while any(sources):
        take = []
        progress: dict[str, datetime] = {}
        for _ in range(rng.randint(1, 3)):
            s = rng.choice([i for i, rest in enumerate(sources) if rest])
            n = rng.randint(1, 40)
            chunk, sources[s] = sources[s][:n], sources[s][n:]
            take += chunk
            progress[f"0/{s}"] = max(progress.get(f"0/{s}", chunk[-1].event.occurred_at_utc),
                                     chunk[-1].event.occurred_at_utc)
            if not any(sources):
                break
        batches.append((take, progress))
    return batches


def test_interleaving_sources_within_the_allowance_gives_the_same_incidents_and_alerts(tmp_path):
    posts = _posts()
    expected = _run(tmp_path / "ordered.db", [(posts[i:i + 25], {"0/0": posts[min(i + 24, len(posts) - 1)]
                                                                .event.occurred_at_utc}) for i in range(0, len(posts), 25)],
                    positions=1)
    incidents, alerts, _ = expected
    rules = {rule for rule, _, _ in alerts.values()}
    assert {"negative_spike", "negative_velocity", "unanswered_question", "purchase_intent"} <= rules
    for seed in (1, 2, 3, 4):
        assert _run(tmp_path / f"seed-{seed}.db", _interleaved(posts, seed), positions=2)[:2] == (incidents, alerts)


def test_a_post_later_than_the_allowance_is_counted_as_late_however_batches_fall(tmp_path):
    config = CONFIG.model_copy(update={"late_allowance_seconds": 60})
    posts = calm_stream(T0, 1, per_hour=40, negatives_per_hour=0)
    straggler = negative(T0 + timedelta(minutes=50), topics=("delivery_logistics",))  # 8+ min behind the stream
    within = negative(T0 + timedelta(minutes=58, seconds=30), topics=("delivery_logistics",))  # 30 s behind
    tail = posts[-1].event.occurred_at_utc
    results = []
    for n, size in enumerate((5, 40)):
        batches = [(posts[i:i + size], {"0/0": posts[min(i + size, len(posts)) - 1].event.occurred_at_utc})
                   for i in range(0, len(posts), size)]
        batches.append(([straggler, within], {"0/0": tail}))
        results.append(_run(tmp_path / f"late-{n}.db", batches, positions=1, config=config)[2])
    assert results[0] == results[1]
    assert results[0]["scope:brand:acme"] == 1, "the straggler is late; the post within the allowance is not"


def test_a_quiet_partition_holds_the_watermark_back_for_at_most_the_idle_time() -> None:
    from alerts.state import PartitionMark
    from alerts.suite import advance_marks, settle_point

    wall = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    idle, none = timedelta(seconds=30), timedelta(0)
    t = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
    marks = advance_marks({}, {"0/0": t, "0/1": t + timedelta(minutes=5)}, wall)
    assert settle_point(marks, 3, none, now=wall, idle=idle) is None, "waits for the third partition to show up"
    assert settle_point(marks, 3, none, now=wall + idle, idle=idle) == t + timedelta(minutes=5), \
        "...for at most the idle time; then, every position quiet, all that was read is settled"
    marks = advance_marks(marks, {"0/1": t + timedelta(minutes=9), "0/2": t + timedelta(minutes=8)},
                          wall + timedelta(seconds=20))
    assert settle_point(marks, 3, none, now=wall + timedelta(seconds=25), idle=idle) == t, "0/0 still counts"
    assert settle_point(marks, 3, none, now=wall + timedelta(seconds=31), idle=idle) == t + timedelta(minutes=8), \
        "0/0 quiet for the idle time no longer holds the others back"
    assert marks["0/1"].since == wall and marks["0/1"].moved_at == wall + timedelta(seconds=20)
    assert isinstance(marks["0/2"], PartitionMark)
