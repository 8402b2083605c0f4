"""A stand-in for the polled platforms' APIs on ``httpx.MockTransport`` (no network), and a clock whose
``sleep`` moves time: the engine's waits run at full speed and are recorded."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from ingest.polling.cursors import CursorStore, MemoryCursorStore
from ingest.polling.engine import PolledBatch, PollEngine
from ingest.polling.spec import Poller

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
Answer = httpx.Response | dict[str, Any] | Exception


@dataclass
class FakeClock:
    now: datetime = T0
    slept: list[float] = field(default_factory=list)

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)


@dataclass
class StandIn:
    """Answers each request with ``route(request)``: a JSON body (200), a ``Response``, or an exception to
    raise (a timeout). Records every request."""

    route: Callable[[httpx.Request], Answer]
    requests: list[httpx.Request] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.route(request)
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):
            return answer
        return httpx.Response(200, json=answer)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handle))

    def paths(self) -> list[str]:
        return [request.url.path for request in self.requests]


def scripted(*answers: Answer) -> Callable[[httpx.Request], Answer]:
    """Answers in order, whatever was asked (the last one repeats)."""
    queue = list(answers)

    def route(request: httpx.Request) -> Answer:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return route


@dataclass
class Run:
    """An engine over a stand-in, with the batches its sink received."""

    engine: PollEngine
    standin: StandIn
    clock: FakeClock
    cursors: CursorStore
    batches: list[PolledBatch]

    def event_ids(self) -> list[str]:
        return [event.event_id for batch in self.batches for event in batch.events]


def run(poller: Poller, route: Callable[[httpx.Request], Answer], *, cursors: CursorStore | None = None,
        clock: FakeClock | None = None, sink: Callable[[PolledBatch], None] | None = None, **options: Any) -> Run:
    standin, clock = StandIn(route), clock or FakeClock()
    batches: list[PolledBatch] = []
    store = cursors if cursors is not None else MemoryCursorStore()

    def keep(batch: PolledBatch) -> None:
        if sink is not None:
            sink(batch)
        batches.append(batch)

    engine = PollEngine(poller, http=standin.client(), sink=keep, cursors=store, clock=clock, sleep=clock.sleep,
                        rng=random.Random(7), **options)
    return Run(engine, standin, clock, store, batches)
