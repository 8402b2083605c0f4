"""The lane loop both runtimes drive (``streams.loop``): its batching policy on an injected clock, and its
failure policy — transient errors retried then ``LaneFailed``, poison records isolated and dead-lettered,
the dead-letter guard — over the in-memory transport. Nothing here waits for wall-clock time."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest
from sqlalchemy.exc import OperationalError

from ingest.records import SourceRecord
from streams.exceptions import DeadLetterRatioExceeded, LaneFailed
from streams.loop import FailurePolicy, Handled, LaneLoop
from streams.steps.deadletter_limit import DeadLetterLimit, DeadLetterLimits
from streams.steps.decode import dead_letter
from streams.topics import DEADLETTER
from streams.transports import Outgoing
from streams.transports.memory import MemoryBroker, MemoryTransport

TOPIC, OUT = "in", "out"


class FakeClock:
    """Time moves only when the loop waits (backoff) or the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return 1_800_000_000.0 + self.now

    def wait(self, stop: threading.Event, seconds: float) -> bool:
        self.waits.append(seconds)
        self.now += seconds
        return stop.is_set()


class ScriptedTransport:
    """A transport whose consume returns prepared batches and records the timeouts it was asked for."""

    def __init__(self, batches: list[list[SourceRecord]]) -> None:
        self.batches = batches
        self.timeouts: list[tuple[int, float]] = []
        self.published: list[Outgoing] = []
        self.committed: list[int] = []

    def consume(self, most: int, timeout: float) -> list[SourceRecord]:
        self.timeouts.append((most, timeout))
        return self.batches.pop(0) if self.batches else []

    def publish(self, messages: Sequence[Outgoing]) -> None:
        self.published += messages

    def commit(self, records: Sequence[SourceRecord]) -> None:
        self.committed += [r.offset for r in records if r.offset is not None]

    def rewind(self) -> None:
        pass

    def has_partitions(self) -> bool:
        return True

    def waiting(self) -> int:
        return sum(len(batch) for batch in self.batches)

    def close(self) -> None:
        pass


def _record(offset: int, value: bytes | None = None, partition: int = 0) -> SourceRecord:
    return SourceRecord(value=value or f"r{offset}".encode(), topic=TOPIC, partition=partition, offset=offset)


def _echo(records: list[SourceRecord]) -> Handled:
    return Handled(messages=[Outgoing(OUT, None, r.value) for r in records])


def _loop(transport, handler=_echo, *, clock=None, limits=None, policy=None, on_trip=None) -> LaneLoop:
    return LaneLoop(name="enrich", transport=transport, handler=handler, batch_size=100, batch_max_ms=200,
                    guard=DeadLetterLimit(limits=limits or DeadLetterLimits(), lane="enrich"),
                    policy=policy or FailurePolicy(), clock=clock or FakeClock(), on_trip=on_trip)


def _memory(records: int = 0, partitions: int = 1) -> tuple[MemoryBroker, MemoryTransport]:
    broker = MemoryBroker(default_partitions=partitions)
    transport = MemoryTransport(broker, TOPIC, "group")
    for n in range(records):
        broker.produce(TOPIC, f"k{n}".encode(), f"r{n}".encode())
    return broker, transport


# ----------------------------------------------------------------------------------------------- batching


def test_an_idle_lane_waits_for_a_lone_record_without_holding_it_for_the_window():
    clock = FakeClock()
    transport = ScriptedTransport([[], [_record(0)], []])
    loop = _loop(transport, clock=clock)
    assert loop.step(threading.Event()) == 1
    assert transport.timeouts[:2] == [(100, 0.0), (1, 1.0)], "no batch yet: nothing to gather, wait for a first record"
    assert transport.timeouts[2] == (99, 0), "then what arrived with it, without waiting"


def test_records_soon_after_a_batch_are_gathered_until_the_window_since_that_batch_started():
    clock = FakeClock()
    transport = ScriptedTransport([[_record(0)], [_record(1), _record(2)]])
    loop = _loop(transport, clock=clock)
    loop.step(threading.Event())
    clock.now += 0.05  # the batch took 50 ms
    loop.step(threading.Event())
    assert transport.timeouts[1] == (100, pytest.approx(0.15)), "the next batch starts a window after the last"


def test_a_lane_whose_batch_outlasted_the_window_takes_what_waits_at_once():
    clock = FakeClock()
    transport = ScriptedTransport([[_record(0)], [_record(1)]])
    loop = _loop(transport, clock=clock)
    loop.step(threading.Event())
    clock.now += 0.5  # longer than the 200 ms window
    loop.step(threading.Event())
    assert transport.timeouts[1] == (100, 0.0)


def test_draining_takes_what_waits_without_gathering():
    clock = FakeClock()
    transport = ScriptedTransport([[_record(0)], [_record(1)]])
    loop = _loop(transport, clock=clock)
    loop.step(threading.Event(), idle_wait=0, gather=False)
    loop.step(threading.Event(), idle_wait=0, gather=False)
    assert transport.timeouts == [(100, 0.0), (100, 0.0)]


# ------------------------------------------------------------------------------------------ failure policy


def _outage(times: int):
    calls = {"n": 0}

    def handler(records: list[SourceRecord]) -> Handled:
        calls["n"] += 1
        if calls["n"] <= times:
            raise OperationalError("SELECT 1", {}, ConnectionRefusedError("database away"))
        return _echo(records)

    return handler, calls


def test_a_transient_failure_is_retried_with_backoff_and_the_batch_then_commits_once():
    broker, transport = _memory(3)
    clock = FakeClock()
    handler, calls = _outage(times=3)
    loop = _loop(transport, handler, clock=clock)
    assert loop.step(threading.Event(), idle_wait=0, gather=False) == 3
    assert calls["n"] == 4 and clock.waits == [0.5, 1.0, 2.0], "exponential backoff while the database is away"
    assert [r.value for r in broker.read(OUT, 0, 0, 10)] == [b"r0", b"r1", b"r2"]
    assert broker.committed("group", TOPIC, 0) == 3


def test_a_transient_failure_that_outlasts_its_retries_fails_the_lane_and_commits_nothing():
    broker, transport = _memory(3)
    handler, _ = _outage(times=100)
    loop = _loop(transport, handler, policy=FailurePolicy(transient_attempts=4))
    with pytest.raises(LaneFailed, match="OperationalError after 4 tries"):
        loop.step(threading.Event(), idle_wait=0, gather=False)
    assert broker.committed("group", TOPIC, 0) == 0
    assert broker.read(OUT, 0, 0, 10) == []
    again = _loop(transport)  # the process restarts the lane: nothing it had taken is lost
    assert again.step(threading.Event(), idle_wait=0, gather=False) == 3


def test_a_poison_record_is_isolated_dead_lettered_with_its_bytes_and_error_and_the_rest_goes_on():
    broker, transport = _memory(0)
    for n in range(10):
        broker.produce(TOPIC, None, b"boom" if n == 6 else f"r{n}".encode())
    seen: list[int] = []

    def handler(records: list[SourceRecord]) -> Handled:
        seen.append(len(records))
        if any(r.value == b"boom" for r in records):
            raise KeyError("douyin:d-7")
        return _echo(records)

    loop = _loop(transport, handler)
    assert loop.step(threading.Event(), idle_wait=0, gather=False) == 10
    out = [r.value for r in broker.read(OUT, 0, 0, 20)]
    assert sorted(out) == sorted(f"r{n}".encode() for n in range(10) if n != 6)
    (letter,) = [r for r in broker.read(DEADLETTER, 0, 0, 5)]
    from ingest.deadletter import DeadLetter

    dead = DeadLetter.model_validate_json(letter.value)
    assert dead.original == b"boom" and dead.offset == 6 and dead.stage == "enrich"
    assert "KeyError" in dead.error and "every time" in dead.error
    assert broker.committed("group", TOPIC, 0) == 10, "the lane goes on past the poison"
    assert loop.stats.poison == 1 and seen[:3] == [10, 10, 10], "the whole batch was tried three times first"


def test_a_deterministic_error_on_every_record_stops_at_the_dead_letter_guard_not_in_a_loop():
    broker, transport = _memory(300)

    def broken(records: list[SourceRecord]) -> Handled:
        raise ValueError("a bug")

    trips: list[DeadLetterRatioExceeded] = []
    loop = _loop(transport, broken, on_trip=trips.append)
    with pytest.raises(DeadLetterRatioExceeded):
        loop.step(threading.Event(), idle_wait=0, gather=False)
    assert len(trips) == 1 and trips[0].lane == "enrich"
    assert broker.committed("group", TOPIC, 0) == 0, "a tripped batch is not committed"


def test_dead_letters_the_handler_returns_are_published_and_counted_per_partition():
    broker, transport = _memory(0, partitions=2)
    for n in range(40):
        broker.produce(TOPIC, b"bad" if n % 2 else b"good", b"junk" if n % 2 else b"ok")

    def handler(records: list[SourceRecord]) -> Handled:
        dead = [dead_letter(r, stage="decode", error="<payload>: not JSON") for r in records if r.value == b"junk"]
        return Handled(messages=[Outgoing(OUT, None, r.value) for r in records if r.value == b"ok"], dead=dead)

    loop = _loop(transport, handler, limits=DeadLetterLimits(min_samples=10, max_ratio=0.5))
    with pytest.raises(DeadLetterRatioExceeded) as raised:
        while loop.step(threading.Event(), idle_wait=0, gather=False):
            pass
    bad_partition = broker.produce(TOPIC, b"bad", b"probe")[0]
    assert raised.value.partition == bad_partition, "the partition that only carries junk trips the guard"


# ------------------------------------------------------------------------------------------ memory transport


def test_the_memory_transport_redelivers_what_was_not_committed_after_a_rewind():
    broker, transport = _memory(5)
    first = transport.consume(3, 0)
    transport.commit(first[:2])
    transport.rewind()
    assert [r.offset for r in transport.consume(10, 0)] == [2, 3, 4]


def test_records_every_group_committed_past_are_dropped_from_memory():
    broker = MemoryBroker()
    a, b = MemoryTransport(broker, TOPIC, "a"), MemoryTransport(broker, TOPIC, "b")
    for n in range(4):
        broker.produce(TOPIC, None, f"r{n}".encode())
    a.commit(a.consume(4, 0))
    assert len(broker.read(TOPIC, 0, 0, 10)) == 4, "group b still needs them"
    b.commit(b.consume(2, 0))
    assert [r.offset for r in broker.read(TOPIC, 0, 0, 10)] == [2, 3]
    assert broker.lag([TOPIC]) == 2


def test_a_topic_nobody_reads_keeps_only_its_latest_records_while_a_read_one_keeps_all():
    """The embedded runtime publishes profiles and segment changes nothing in the process consumes: they
    must not pile up in memory for the life of ``scrm serve``."""
    broker = MemoryBroker(unread_retention=3)
    MemoryTransport(broker, TOPIC, "a")
    for n in range(10):
        broker.produce(OUT, None, f"o{n}".encode())
        broker.produce(TOPIC, None, f"r{n}".encode())
    assert [(r.offset, r.value) for r in broker.read(OUT, 0, 0, 20)] == [(7, b"o7"), (8, b"o8"), (9, b"o9")]
    assert broker.ends(OUT) == [10], "offsets go on"
    assert len(broker.read(TOPIC, 0, 0, 20)) == 10, "group a has not read them yet"


def test_a_key_always_lands_on_the_same_partition_in_order():
    broker = MemoryBroker(default_partitions=4)
    placed = {broker.produce(TOPIC, b"weibo:42", f"r{n}".encode())[0] for n in range(20)}
    assert len(placed) == 1
    (partition,) = placed
    assert [r.value for r in broker.read(TOPIC, partition, 0, 30)] == [f"r{n}".encode() for n in range(20)]


def test_a_dead_letter_that_cannot_be_stored_stops_the_lane_instead_of_dead_lettering_it_again():
    broker = MemoryBroker()
    transport = MemoryTransport(broker, DEADLETTER, "group")
    broker.produce(DEADLETTER, None, b"{}")

    def broken(records: list[SourceRecord]) -> Handled:
        raise ValueError("the table is gone")

    with pytest.raises(LaneFailed, match="cannot store the dead letter"):
        _loop(transport, broken, policy=FailurePolicy(backoff_seconds=0)).step(threading.Event(), idle_wait=0,
                                                                               gather=False)
    assert broker.read(DEADLETTER, 0, 1, 10) == [], "nothing published back to the dead-letter topic"
    assert broker.committed("group", DEADLETTER, 0) == 0


def test_batch_times_and_record_ages_are_kept_as_histograms_and_exported():
    from prometheus_client import CollectorRegistry, generate_latest

    from streams.health import LaneCollector

    clock = FakeClock()
    appended = clock.time() - 3.0
    records = [SourceRecord(value=b"r", topic=TOPIC, partition=0, offset=n, appended_at=appended) for n in range(4)]

    def slow(batch: list[SourceRecord]) -> Handled:
        clock.now += 0.02
        return _echo(batch)

    loop = _loop(ScriptedTransport([records]), slow, clock=clock)
    loop.step(threading.Event())
    ages, batches = loop.stats.record_age_seconds, loop.stats.batch_seconds
    assert ages.count == 4 and ages.total == pytest.approx(4 * 3.02)
    assert batches.count == 1 and batches.total == pytest.approx(0.02)
    registry = CollectorRegistry()
    registry.register(LaneCollector([loop]))
    text = generate_latest(registry).decode()
    assert 'scrm_lane_record_age_seconds_bucket{lane="enrich",le="2.5"} 0.0' in text
    assert 'scrm_lane_record_age_seconds_bucket{lane="enrich",le="5.0"} 4.0' in text
    assert 'scrm_lane_batch_seconds_count{lane="enrich"} 1.0' in text
