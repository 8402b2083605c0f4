"""The poll engine: one connector's endpoints drained page by page through its limits, each page's events
handed to a sink, the cursor advanced only after the sink returned.

Blocking (httpx's sync ``Client``); one engine per connector, not thread-safe. The clock, ``sleep`` and
the jitter's random source are passed in, so every wait runs at full speed in tests. Per request:
- the connector's budget (``requests_per_15min``) and a window a platform said is exhausted are waited for;
- 2xx: the page; 429 (or a platform's own rate-limit answer): wait as ``Retry-After`` / ``x-rate-limit-reset``
  say (the same request again; a wait longer than ``max_wait`` ends this endpoint's poll, cursor kept);
- 5xx, 408 and transport errors (timeouts, refused connections): exponential backoff with jitter, at most
  ``max_attempts`` sends, then ``PollUnavailable`` for this endpoint (cursor kept, next endpoint polled);
- 401/403 (after one token refresh, where the platform has tokens) and other 4xx: ``ConnectorRefused``,
  the connector's poll stops, ``PollStats.last_error`` says why, and ``poll_once`` does nothing for
  ``refused_cooldown`` (not retried hot).
A page is handed to the sink as a ``PolledBatch`` (its events, and its items that cannot become events, to
dead-letter); a page that cannot be read at all (``InvalidEvent``, or any other exception of the adapter on
an answer nobody foresaw) is handed over as one invalid item and ends the endpoint's poll without moving its
cursor. The sink must return only once the batch is durable; an exception from it
(or from the cursor store) propagates and nothing after it is stored, so a restarted engine fetches that
page again. Secrets are never logged: credentials travel in headers, and errors name statuses and reasons.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import httpx

from ingest.adapters.base import InvalidItem
from ingest.adapters.json_payload import load_json
from ingest.contracts import SocialEvent
from ingest.exceptions import ConnectorRefused, InvalidEvent, PlatformApiError, PollUnavailable
from ingest.polling.cursors import CursorStore
from ingest.polling.limits import RequestBudget, backoff_seconds, exhausted_wait, rate_limit_wait
from ingest.polling.spec import Cursor, ListingEndpoint, PageRequest, Poller, Refuse, Retry, Verdict, Wait

log = logging.getLogger(__name__)
DEFAULT_RATE_LIMIT_WAIT = 60.0
"""Seconds to wait on a 429 whose headers do not say how long."""


@dataclass(frozen=True, slots=True)
class PolledBatch:
    """One page's worth for the sink: which connector and endpoint, its events (in the platform's order) and
    its items that cannot become events (dead-letter them with their bytes)."""

    connector: str
    endpoint: str
    events: tuple[SocialEvent, ...]
    invalid: tuple[InvalidItem, ...] = ()


Sink = Callable[[PolledBatch], None]
"""Makes a batch durable (publish to ``scrm.events.raw`` and wait for the acks, or apply to the embedded
store) and returns only then; raises if it cannot."""


@dataclass(slots=True)
class PollStats:
    """What one connector's engine did since it was built (a copy: ``PollEngine.stats``)."""

    connector: str
    requests: int = 0
    pages: int = 0
    events: int = 0
    skipped: int = 0
    invalid: int = 0
    retries: int = 0
    waits: int = 0
    waited_seconds: float = 0.0
    errors: int = 0
    """Endpoint polls that ended early (unavailable) and refusals; ``last_error`` says the latest."""
    last_error: str | None = None

    def since(self, before: PollStats) -> PollStats:
        """What happened between ``before`` (an earlier copy) and these counters; ``last_error`` only when
        an error happened in between."""
        counted = {name: getattr(self, name) - getattr(before, name)
                   for name in ("requests", "pages", "events", "skipped", "invalid", "retries", "waits", "errors")}
        return PollStats(self.connector, **counted, waited_seconds=round(self.waited_seconds - before.waited_seconds, 3),
                         last_error=self.last_error if counted["errors"] else None)


class PollEngine:
    """Drains one connector's endpoints into ``sink``, moving cursors in ``cursors`` (see the module
    docstring). ``http`` is the caller's client (closed by the caller); ``clock`` returns aware datetimes;
    ``sleep(seconds)`` is ``time.sleep`` in production and advances the test clock in tests."""

    def __init__(
        self,
        poller: Poller,
        *,
        http: httpx.Client,
        sink: Sink,
        cursors: CursorStore,
        clock: Callable[[], datetime],
        sleep: Callable[[float], None],
        rng: random.Random | None = None,
        max_attempts: int = 5,
        max_wait: float = 900.0,
        max_pages: int = 50,
        refused_cooldown: timedelta = timedelta(minutes=15),
    ) -> None:
        self._poller = poller
        self._name = poller.config.name
        self._http = http
        self._sink = sink
        self._cursors = cursors
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._max_attempts = max_attempts
        self._max_wait = max_wait
        self._max_pages = max_pages
        self._cooldown = refused_cooldown
        self._budget = RequestBudget(poller.config.requests_per_15min)
        self._not_before: datetime | None = None
        self._refused_until: datetime | None = None
        self._stats = PollStats(poller.config.name)

    @property
    def stats(self) -> PollStats:
        """A copy of the counters so far."""
        return replace(self._stats)

    @property
    def refused_until(self) -> datetime | None:
        """Until when ``poll_once`` does nothing after the platform refused the connector (``None``: never
        refused)."""
        return self._refused_until

    def poll_once(self) -> PollStats:
        """Drain every enabled endpoint (each until its listing ends, at most ``max_pages`` pages; the rest
        is fetched on the next call). Blocks, waiting as the limits say. A refused connector stops the run
        (and the runs of the next ``refused_cooldown``); an unavailable endpoint stops only itself. Returns
        the stats. Raises what the sink or the cursor store raise."""
        if self._refused_until is not None and self._clock() < self._refused_until:
            return self.stats
        for endpoint in self._poller.endpoints:
            try:
                self._drain(endpoint)
            except ConnectorRefused as exc:
                self._stats.errors += 1
                self._stats.last_error = str(exc)
                self._refused_until = self._clock() + self._cooldown
                log.warning("poll connector %s refused: %s", self._name, exc.reason)
                break
            except (PollUnavailable, PlatformApiError) as exc:
                self._stats.errors += 1
                self._stats.last_error = f"{endpoint.name}: {exc}"
                log.warning("poll connector %s endpoint %s unavailable: %s", self._name, endpoint.name, exc)
        return self.stats

    def _drain(self, endpoint: ListingEndpoint) -> None:
        cursor = self._cursors.load(self._name, endpoint.name) or Cursor()
        for _ in range(self._max_pages):
            response = self._send(endpoint.request(cursor), authorize=True)
            received_at = self._clock()
            try:
                step = endpoint.step(load_json(response.content), cursor, received_at)
            except Exception as exc:  # noqa: BLE001 - an adapter's bug on an unforeseen answer keeps the page too
                error = exc if isinstance(exc, InvalidEvent) else InvalidEvent(
                    "<page>", f"the adapter failed on this page: {type(exc).__name__}")
                self._stats.invalid += 1
                self._sink(PolledBatch(self._name, endpoint.name, (), (InvalidItem(response.content, error),)))
                raise PollUnavailable(f"an unreadable page: {error}") from exc
            self._sink(PolledBatch(self._name, endpoint.name, step.events, step.invalid))
            self._cursors.save(self._name, endpoint.name, step.cursor)
            self._stats.pages += 1
            self._stats.events += len(step.events)
            self._stats.skipped += len(step.skipped)
            self._stats.invalid += len(step.invalid)
            cursor = step.cursor
            if step.drained:
                return

    def _fetch(self, request: PageRequest) -> object:
        """A request without the connector's credentials (a token endpoint), through the same limits."""
        return load_json(self._send(request, authorize=False).content)

    def _send(self, request: PageRequest, *, authorize: bool) -> httpx.Response:
        attempts = 0
        refreshed = False
        while True:
            self._wait_for_budget()
            now = self._clock()
            outgoing = self._poller.authorize(request, self._fetch, now) if authorize else request
            self._budget.record(now)
            self._stats.requests += 1
            status = 0
            try:
                response = self._http.request(outgoing.method, outgoing.url, params=dict(outgoing.params),
                                              headers=dict(outgoing.headers), data=outgoing.data)
            except httpx.TransportError as exc:
                verdict: Verdict = Retry(f"{type(exc).__name__}")
            else:
                status = response.status_code
                found = self._poller.verdict(response, now) or _status_verdict(response, now)
                if found is None:
                    self._note_exhausted(response, now)
                    return response
                verdict = found
            if isinstance(verdict, Wait):
                if verdict.seconds > self._max_wait:
                    raise PollUnavailable(f"rate limited for {verdict.seconds:.0f} s: {verdict.reason}")
                self._wait(verdict.seconds)
            elif isinstance(verdict, Retry):
                attempts += 1
                if attempts >= self._max_attempts:
                    raise PollUnavailable(f"{verdict.reason}, {attempts} attempts")
                self._stats.retries += 1
                self._wait(backoff_seconds(attempts, self._rng))
            elif verdict.auth and authorize and not refreshed and self._poller.forget_credentials():
                refreshed = True
            else:
                raise ConnectorRefused(self._name, status, verdict.reason)

    def _wait_for_budget(self) -> None:
        now = self._clock()
        seconds = self._budget.wait_before_next(now)
        if self._not_before is not None:
            seconds = max(seconds, (self._not_before - now).total_seconds())
            self._not_before = None
        if seconds > 0:
            self._wait(seconds)

    def _note_exhausted(self, response: httpx.Response, now: datetime) -> None:
        seconds = exhausted_wait(response, now)
        if seconds:
            self._not_before = now + timedelta(seconds=min(seconds, self._max_wait))

    def _wait(self, seconds: float) -> None:
        self._stats.waits += 1
        self._stats.waited_seconds += seconds
        self._sleep(seconds)


def _status_verdict(response: httpx.Response, now: datetime) -> Verdict | None:
    """The engine's reading of an HTTP status: ``None`` for success."""
    status = response.status_code
    if 200 <= status < 300:
        return None
    if status == 429:
        wait = rate_limit_wait(response, now)
        return Wait(DEFAULT_RATE_LIMIT_WAIT if wait is None else wait, "429 Too Many Requests")
    if status >= 500 or status == 408:
        return Retry(f"HTTP {status}")
    return Refuse(f"HTTP {status} {response.reason_phrase}".strip(), auth=status in (401, 403))
