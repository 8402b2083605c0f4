"""The stand-ins of the polled platforms' APIs (``ingest.simulator.polled``), over real local HTTP, polled by
the real poll runner and engine: every item published comes back exactly once as the event its adapter
makes, across several pages, a 429 and a 500; a second round takes only what was published since; wrong
credentials are refused in the platform's way."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from poll_standin import FakeClock

from ingest.connectors import parse_connectors, poll_connectors
from ingest.contracts import SocialEvent
from ingest.polling.cursors import MemoryCursorStore
from ingest.polling.health import MemoryHealthStore
from ingest.polling.runner import PollRunner
from ingest.simulator import SimulatorConfig, simulate_events
from ingest.simulator.polled import PlatformStandIns

PLATFORMS = ("x", "reddit", "youtube", "weibo")
SMALL_PAGES = {"x": "max_results = 10", "reddit": "limit = 4", "youtube": "max_results = 4", "weibo": "count = 4"}


class Sink:
    def __init__(self) -> None:
        self.events: list[SocialEvent] = []

    def accept(self, records) -> None:
        self.events.extend(r for r in records if isinstance(r, SocialEvent))


def events(seed: int, start: datetime, per_platform: int, brand: str) -> list[SocialEvent]:
    """The first ``per_platform`` simulated events of ``brand`` on each polled platform (listed or not)."""
    counts = dict.fromkeys(PLATFORMS, 0)
    found = []
    for event in simulate_events(SimulatorConfig(seed=seed, brands=("acme", "lumo"), start=start, customers=300)):
        platform = event.platform.value
        if event.brand == brand and platform in counts and counts[platform] < per_platform:
            counts[platform] += 1
            found.append(event)
        if all(n == per_platform for n in counts.values()):
            return found
    raise AssertionError("the simulator ran dry")


def small_pages(toml: str) -> str:
    out = []
    for line in toml.splitlines():
        out.append(line)
        if line.startswith("platform = "):
            out.append(SMALL_PAGES[line.split('"')[1]])
    return "\n".join(out)


START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START + timedelta(days=1))


@pytest.fixture
def standins(clock):
    with PlatformStandIns(secret=b"unit-test-secret", clock=clock) as started:
        yield started


def runner(standins: PlatformStandIns, sink: Sink, clock: FakeClock, cursors: MemoryCursorStore) -> PollRunner:
    connectors = poll_connectors(parse_connectors(small_pages(standins.connectors_toml("acme")), {}))
    return PollRunner(connectors, sink=sink, cursors=cursors, health=MemoryHealthStore(), clock=clock,
                      sleep=clock.sleep, rng=random.Random(5))


def occurrences(sink: Sink) -> Counter[str]:
    return Counter(event.event_id for event in sink.events)


def test_every_published_item_comes_back_once_across_pages_faults_and_rounds(standins, clock):
    """X lists each tweet in both the recent search and the mentions timeline (as it does: a brand's tweets
    mention it), so X's ids come twice, once per endpoint; everything else exactly once."""
    start = START
    cursors, sink = MemoryCursorStore(), Sink()
    standins.publish(events(10, start, 30, "lumo"))
    expected = standins.publish(events(11, start, 30, "acme"))
    x_ids = {i for i in expected if i.isdigit() and len(i) > 17}
    standins.fail("x", 429)
    standins.fail("reddit", 500)
    standins.fail("weibo", 500, times=2)
    rounds = runner(standins, sink, clock, cursors).run_once()
    assert all(r.error is None for r in rounds.values()), {n: r.error for n, r in rounds.items()}
    assert occurrences(sink) == Counter({i: 2 if i in x_ids else 1 for i in expected})
    assert {e.brand for e in sink.events} == {"acme"} and {e.source for e in sink.events} == set(rounds)
    assert all(r.stats.pages > 2 for r in rounds.values())
    assert clock.slept, "the 429 and the 500s were waited out"
    statuses = [r.status for r in standins.requests]
    assert statuses.count(429) == 1 and statuses.count(500) == 3

    later = standins.publish(events(12, start + timedelta(hours=3), 12, "acme"))
    again = Sink()
    runner(standins, again, clock, cursors).run_once()
    assert occurrences(again) == Counter({i: 2 if i in x_ids or (i.isdigit() and len(i) > 17) else 1 for i in later})


def test_the_adapters_read_back_what_was_published(standins):
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    published = events(13, start, 20, "acme")
    standins.publish(published)
    sink = Sink()
    runner(standins, sink, FakeClock(start + timedelta(days=1)), MemoryCursorStore()).run_once()
    texts = {e.text for e in published if e.text}
    by_platform = Counter(e.platform.value for e in sink.events)
    assert set(by_platform) == set(PLATFORMS)
    for event in sink.events:
        assert event.brand == "acme"
        if event.text.startswith("RT @"):  # a retweet: X gives its text as RT @<author>: ...
            continue
        assert event.text in texts or any(event.text.replace("\n\n", "\n") == t for t in texts), event.text


@pytest.mark.parametrize(("platform", "status"), [("x", 401), ("reddit", 401), ("youtube", 400), ("weibo", 403)])
def test_wrong_credentials_are_refused_as_the_platform_refuses_them(standins, platform, status):
    toml = standins.connectors_toml("acme", [platform])
    standins.publish(events(14, datetime(2026, 12, 1, 9, 0, tzinfo=UTC), 5, "acme"))
    good = next(line for line in toml.splitlines()
                if line.split(" = ")[0] in ("bearer_token", "client_secret", "api_key", "access_token"))
    bad = toml.replace(good, good.split(" = ")[0] + ' = "wrong-credential"')
    sink = Sink()
    connectors = poll_connectors(parse_connectors(bad, {}))
    clock = FakeClock()
    rounds = PollRunner(connectors, sink=sink, cursors=MemoryCursorStore(), health=MemoryHealthStore(), clock=clock,
                        sleep=clock.sleep).run_once()
    (found,) = rounds.values()
    assert found.error is not None and "wrong-credential" not in found.error and not sink.events
    assert [r.status for r in standins.requests] == [status]
    assert httpx.get(f"{standins.url}/{platform}/nowhere").status_code in (400, 401, 403, 404)
