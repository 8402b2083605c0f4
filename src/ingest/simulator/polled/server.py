"""``PlatformStandIns``: the stand-ins of ``STANDINS`` served over HTTP on 127.0.0.1 (stdlib
``ThreadingHTTPServer``, port chosen by the system), one path prefix per platform (``/x``, ``/reddit``,
``/youtube``, ``/weibo``: a connector's ``base_url``). Thread-safe: one lock serialises the stand-ins'
state.

For tests and the demo: ``publish`` feeds simulated events in, ``connectors_toml`` writes connectors that
poll them, ``fail`` makes the next listing requests answer an error (a 429 with the platform's rate-limit
headers, a 500), ``hold`` makes one listing request wait until released (a test kills the poller
meanwhile), ``requests`` records what was asked (no credentials) and what was answered.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qsl, urlsplit

from ingest.contracts import SocialEvent
from ingest.simulator.polled import STANDINS
from ingest.simulator.polled.base import Answer, PolledStandIn, Request, letters

HOLD_LIMIT_SECONDS = 600.0
"""A held request answers after this long even if never released (no thread is kept forever)."""
SECRET_PARAMS = frozenset({"key", "access_token"})


@dataclass(frozen=True)
class StandInRequest:
    """One request the stand-ins answered (``params`` without credentials)."""

    platform: str
    method: str
    path: str
    params: Mapping[str, str]
    status: int


@dataclass
class Hold:
    """A listing request to hold: ``arrived`` is set when it comes, and it is answered after ``release``."""

    platform: str
    page: int
    arrived: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    def release(self) -> None:
        self.released.set()


@dataclass
class _Fault:
    status: int
    times: int
    headers: Mapping[str, str]


class PlatformStandIns:
    """The four stand-ins behind one local HTTP server. ``secret`` seeds the credentials (random by
    default); ``clock`` stamps the rate-limit resets of ``fail`` (a test passes its own)."""

    def __init__(self, platforms: Sequence[str] = tuple(STANDINS), *, secret: bytes | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._clock = clock
        self._standins: dict[str, PolledStandIn] = {name: STANDINS[name]() for name in platforms}
        self._secret = (secret or os.urandom(16)).hex()
        self._lock = threading.Lock()
        self._brand_of: dict[str, dict[str, str]] = {name: {} for name in self._standins}
        self._faults: dict[str, list[_Fault]] = {name: [] for name in self._standins}
        self._holds: list[Hold] = []
        self._listing_requests: dict[str, int] = dict.fromkeys(self._standins, 0)
        self.requests: list[StandInRequest] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    def __enter__(self) -> PlatformStandIns:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.close()

    def start(self) -> None:
        """Serve on a free port of 127.0.0.1 from a daemon thread; sets ``url``."""
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server hook name
                owner._serve(self)

            def do_POST(self) -> None:  # noqa: N802
                owner._serve(self)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the hook's signature
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="platform-standins", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop serving; held requests are released."""
        for hold in self._holds:
            hold.release()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def publish(self, events: Iterable[SocialEvent]) -> tuple[str, ...]:
        """Render and store what the polled platforms would list; returns the event ids their adapters
        will produce, in order (events of other platforms, or not listed, add nothing)."""
        found: list[str] = []
        with self._lock:
            for event in events:
                standin = self._standins.get(event.platform.value)
                if standin is not None:
                    found.extend(standin.publish(event))
        return tuple(found)

    def connectors_toml(self, brand: str, platforms: Sequence[str] | None = None, *,
                        interval_seconds: float = 5.0) -> str:
        """``[connectors.standin-<platform>-<brand>]`` tables polling these stand-ins for ``brand``, with
        credentials they accept (secrets included: for tests and the demo only)."""
        tables = []
        with self._lock:
            for platform in platforms or tuple(self._standins):
                credential = letters(f"{self._secret}:{platform}:{brand}", 32)
                self._brand_of[platform][credential] = brand
                table = self._standins[platform].connector(brand, f"{self.url}/{platform}", credential)
                lines = [f"[connectors.standin-{platform}-{brand}]", f'platform = "{platform}"',
                         f"brand = {json.dumps(brand)}", f"interval_seconds = {interval_seconds}"]
                lines += [f"{key} = {json.dumps(value, ensure_ascii=False)}" for key, value in table.items()]
                tables.append("\n".join(lines))
        return "\n\n".join(tables) + "\n"

    def fail(self, platform: str, status: int, *, times: int = 1, headers: Mapping[str, str] | None = None) -> None:
        """The next ``times`` listing requests to ``platform`` answer ``status`` in the platform's error shape
        (429: with its rate-limit headers, which ``headers`` may override)."""
        with self._lock:
            self._faults[platform].append(_Fault(status, times, dict(headers or {})))

    def hold(self, platform: str, *, page: int) -> Hold:
        """The ``page``-th listing page ``platform`` answers from now (1-based; answers replaced by ``fail``
        do not count) waits until released."""
        with self._lock:
            hold = Hold(platform, self._listing_requests[platform] + page)
            self._holds.append(hold)
        return hold

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        split = urlsplit(handler.path)
        platform, _, rest = split.path.lstrip("/").partition("/")
        params = dict(parse_qsl(split.query, keep_blank_values=True))
        length = int(handler.headers.get("content-length") or 0)
        body = handler.rfile.read(length) if length else b""
        form = dict(parse_qsl(body.decode("utf-8", "replace"))) if body else {}
        request = Request(handler.command, "/" + rest, params, {k.lower(): v for k, v in handler.headers.items()}, form)
        held = None
        with self._lock:
            standin = self._standins.get(platform)
            if standin is None:
                answer = Answer(404, {"error": f"no stand-in for {platform!r}"})
            else:
                answer = standin.answer(request, self._brand_of[platform])
                fault = self._fault(platform, standin) if answer.listing and answer.status < 400 else None
                if fault is not None:
                    answer = fault
                elif answer.listing and answer.status < 400:
                    self._listing_requests[platform] += 1
                    held = next((h for h in self._holds if h.platform == platform
                                 and h.page == self._listing_requests[platform]), None)
            self.requests.append(StandInRequest(platform, handler.command, request.path,
                                                {k: v for k, v in params.items() if k not in SECRET_PARAMS},
                                                answer.status))
        if held is not None:
            held.arrived.set()
            held.released.wait(HOLD_LIMIT_SECONDS)
        payload = answer.encoded()
        try:
            handler.send_response(answer.status)
            handler.send_header("Content-Type", "application/json; charset=UTF-8")
            handler.send_header("Content-Length", str(len(payload)))
            for name, value in answer.headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(payload)
        except OSError:
            pass  # the poller went away (killed while held)

    def _fault(self, platform: str, standin: PolledStandIn) -> Answer | None:
        faults = self._faults[platform]
        if not faults:
            return None
        fault = faults[0]
        fault.times -= 1
        if fault.times <= 0:
            faults.pop(0)
        return standin.failure(fault.status, fault.headers, self._clock())
