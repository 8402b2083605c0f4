"""Lane heartbeats: a Kafka worker's lane counters in the platform database, added up for the API's
``/v1/status`` and judged for its ``/readyz``; a worker stopping cleanly takes its rows with it."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from streams.health import LaneWatch
from streams.heartbeats import HeartbeatWriter, LaneBeat, WorkerLanes, heartbeat_problems, pipeline_summary

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def beat(worker: str, lane: str, *, at: datetime = T0, **counts) -> LaneBeat:
    return LaneBeat(worker=worker, lane=lane, started_at=T0 - timedelta(seconds=100), at=at, **counts)


def test_the_summary_adds_up_the_fresh_beats_of_every_worker_in_the_embedded_runtimes_shape():
    beats = [beat("w1", "enrich", records=600, batches=6), beat("w2", "enrich", records=400, batches=4),
             beat("w1", "apply", records=900, dead_lettered=3), beat("w1", "alert", published=12, dead_lettered=2),
             beat("old", "apply", records=5_000, at=T0 - timedelta(minutes=5))]
    summary = pipeline_summary(beats, T0 + timedelta(seconds=5))
    assert summary is not None
    assert (summary["received"], summary["processed"], summary["alerts"], summary["dead_lettered"]) == (1000, 900, 10, 5)
    assert summary["workers"] == 2 and summary["events_per_second"] == 9.0
    assert summary["lanes"]["enrich"]["workers"] == 2
    assert pipeline_summary(beats, T0 + timedelta(hours=1)) is None


def test_problems_name_stalled_lanes_and_silent_workers_until_they_are_forgotten():
    beats = [beat("w1", "apply", problem="apply: 40 records waiting and no batch finished for 61 s"),
             beat("w2", "enrich", at=T0 - timedelta(minutes=2)), beat("w3", "enrich", at=T0 - timedelta(hours=1)),
             beat("w4", "alert")]
    assert heartbeat_problems(beats, T0) == [
        "worker w1 lane apply: 40 records waiting and no batch finished for 61 s",
        "worker w2 lane enrich: no heartbeat for 120 s",
    ]


def test_a_writer_beats_into_the_database_and_deletes_its_rows_when_stopped(storage):
    from streams.loop import LaneLoop, LaneStats

    class Lane:
        name = "enrich"
        stats = LaneStats(records=7, batches=1, waiting=0)

    lanes: list[LaneLoop] = [Lane()]  # type: ignore[list-item]
    clock = [T0]
    writer = HeartbeatWriter(lanes, LaneWatch(lanes), storage.session_factory, worker="w1",
                             clock=lambda: clock[0])
    writer.beat()
    seen = WorkerLanes(storage.session_factory, clock=lambda: clock[0])
    summary = seen.summary()
    assert summary is not None and summary["received"] == 7 and seen.problems() == []
    clock[0] = T0 + timedelta(minutes=1)
    assert seen.problems() == ["worker w1 lane enrich: no heartbeat for 60 s"]
    stop = threading.Event()
    stop.set()
    writer.run(stop)  # one last beat, then the rows go
    assert seen.summary() is None and seen.problems() == []
