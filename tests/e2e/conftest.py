"""Fixtures for the console's end-to-end tests: the real app (embedded storage + chDB analytics) served by
uvicorn on 127.0.0.1, and a real headless Chromium driven over the Chrome DevTools Protocol.

The CDP client is a few dozen lines over ``websockets`` (already installed with ``uvicorn[standard]``), so
the tests need no browser-automation package and never download a browser: they use the system Chromium
(Debian's ``chromium`` package). Without one the tests skip, or fail when ``CI=true``.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--no-proxy-server",
    "--hide-scrollbars",
    "--mute-audio",
    "--window-size=1280,900",
    "--remote-debugging-port=0",
    "--remote-allow-origins=*",
)
API_KEY = "test-key"
XSS_TEXT = '<img src=x onerror="window.__xss=1"> terrible awful broken product, worst support ever'
CHINESE_NEGATIVE = "这个产品太差了，质量很烂，客服态度恶劣，我要退货！"


# ---------------------------------------------------------------------------------------------- browser


def find_chromium() -> str | None:
    for candidate in CHROMIUM_CANDIDATES:
        path = shutil.which(candidate)
        if path:
            return path
    return None


class CdpError(RuntimeError):
    pass


class Browser:
    """One headless Chromium process and a CDP connection to it (flattened sessions, one per page)."""

    def __init__(self, executable: str) -> None:
        from websockets.sync.client import connect

        self._profile = tempfile.mkdtemp(prefix="scrm-chromium-")
        self.process = subprocess.Popen(
            [executable, *CHROMIUM_FLAGS, f"--user-data-dir={self._profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )
        port_file = Path(self._profile) / "DevToolsActivePort"
        deadline = time.monotonic() + 20
        while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
            if self.process.poll() is not None:
                raise CdpError(f"chromium exited with {self.process.returncode} before it listened")
            if time.monotonic() > deadline:
                self.close()
                raise CdpError("chromium did not open its DevTools port within 20 s")
            time.sleep(0.05)
        port, path = port_file.read_text().splitlines()[:2]
        self._exit = contextlib.ExitStack()
        self._ws = self._exit.enter_context(connect(f"ws://127.0.0.1:{port}{path}", max_size=None, open_timeout=10))
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None,
             timeout: float = 15.0) -> dict[str, Any]:
        """Send one command and wait for its answer; events seen meanwhile are kept in ``events``."""
        with self._lock:
            message_id = next(self._ids)
            message: dict[str, Any] = {"id": message_id, "method": method, "params": params or {}}
            if session:
                message["sessionId"] = session
            self._ws.send(json.dumps(message))
            deadline = time.monotonic() + timeout
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise CdpError(f"{method}: no answer within {timeout} s")
                reply = json.loads(self._ws.recv(timeout=remaining))
                if reply.get("id") == message_id:
                    if "error" in reply:
                        raise CdpError(f"{method}: {reply['error']}")
                    return reply.get("result", {})
                if "method" in reply:
                    self.events.append(reply)

    def new_page(self, width: int = 1280, height: int = 900) -> Page:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, target, session)
        self.send("Runtime.enable", session=session)
        self.send("Page.enable", session=session)
        page.set_viewport(width, height)
        return page

    def close(self) -> None:
        try:
            if hasattr(self, "_ws"):
                with contextlib.suppress(Exception):
                    self._ws.send(json.dumps({"id": 0, "method": "Browser.close"}))
                self._exit.close()
        finally:
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
            shutil.rmtree(self._profile, ignore_errors=True)


@dataclass
class Page:
    """A browser tab. Everything is synchronous; ``wait_for`` polls a JavaScript expression."""

    browser: Browser
    target_id: str
    session: str
    closed: bool = field(default=False)

    def send(self, method: str, params: dict[str, Any] | None = None, timeout: float = 15.0) -> dict[str, Any]:
        return self.browser.send(method, params, session=self.session, timeout=timeout)

    def set_viewport(self, width: int, height: int) -> None:
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    def goto(self, url: str) -> None:
        self.send("Page.navigate", {"url": url})
        self.wait_for("document.readyState === 'complete' && location.href !== 'about:blank'")

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate",
                           {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise CdpError(f"JavaScript error: {details.get('exception', {}).get('description') or details}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30.0, message: str | None = None) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(message or f"timed out after {timeout} s waiting for: {expression}")
            time.sleep(0.1)

    def click(self, selector: str) -> None:
        """A real mouse click at the centre of the element (scrolled into view first), once the element is
        what lies under that point (the page may still be shifting after a re-render)."""
        box = self.wait_for(
            f"""(() => {{
                const el = document.querySelector({json.dumps(selector)});
                if (!el) return null;
                el.scrollIntoView({{block: 'center'}});
                const r = el.getBoundingClientRect();
                if (!r.width || !r.height) return null;
                const x = r.left + r.width / 2, y = r.top + r.height / 2;
                const hit = document.elementFromPoint(x, y);
                return hit && (hit === el || el.contains(hit)) ? {{x, y}} : null;
            }})()""",
            message=f"no visible, unobstructed element {selector}",
        )
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent",
                      {"type": kind, "x": box["x"], "y": box["y"], "button": "left", "clickCount": 1})

    def type_into(self, selector: str, text: str) -> None:
        """Focus a field, clear it and type ``text`` as keyboard input."""
        self.evaluate(f"(() => {{ const el = document.querySelector({json.dumps(selector)}); el.focus(); el.select(); }})()")
        self.send("Input.insertText", {"text": text})

    def press_enter(self) -> None:
        for kind in ("keyDown", "keyUp"):
            self.send("Input.dispatchKeyEvent",
                      {"type": kind, "key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13, "text": "\r"})

    def screenshot(self, path: str | Path, full_page: bool = False) -> None:
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            size = self.evaluate("({w: document.documentElement.scrollWidth, h: document.documentElement.scrollHeight})")
            params["clip"] = {"x": 0, "y": 0, "width": size["w"], "height": size["h"], "scale": 1}
            params["captureBeyondViewport"] = True
        data = self.send("Page.captureScreenshot", params, timeout=30)["data"]
        Path(path).write_bytes(base64.b64decode(data))

    def exceptions(self) -> list[str]:
        """Uncaught JavaScript exceptions this page reported so far."""
        return [
            str(e["params"]["exceptionDetails"].get("exception", {}).get("description")
                or e["params"]["exceptionDetails"].get("text"))
            for e in self.browser.events
            if e.get("method") == "Runtime.exceptionThrown" and e.get("sessionId") == self.session
        ]

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.browser.send("Target.closeTarget", {"targetId": self.target_id})


@pytest.fixture(scope="session")
def chromium() -> str:
    path = find_chromium()
    if path is None:
        message = "no Chromium found (apt-get install -y chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def browser(chromium: str) -> Iterator[Browser]:
    instance = Browser(chromium)
    try:
        yield instance
    finally:
        instance.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    tab = browser.new_page()
    try:
        yield tab
    finally:
        tab.close()


# ---------------------------------------------------------------------------------------------- app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """uvicorn serving one app on a free 127.0.0.1 port, in a background thread."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                timeout_graceful_shutdown=1, lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name=f"uvicorn-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)


def social_event(n: int, platform: str, author: str, text: str, *, name: str, brand: str | None = "Acme",
                 minutes_ago: float = 0, followers: int = 120, kind: str = "post") -> bytes:
    now = datetime.now(UTC)
    return json.dumps({
        "event_id": f"e2e-{n}",
        "platform": platform,
        "kind": kind,
        "occurred_at": (now - timedelta(minutes=minutes_ago)).isoformat(),
        "received_at": now.isoformat(),
        "author": {"id": author, "handle": author, "display_name": name, "followers": followers},
        "brand": brand,
        "text": text,
        "url": f"https://example.invalid/{platform}/{n}",
        "source": "e2e",
    }, ensure_ascii=False).encode("utf-8")


SEED_TEXTS = (
    ("x", "I love the new Acme phone, great camera and amazing battery", "Acme"),
    ("weibo", "新款很好看，推荐购买", "Bolt"),
    ("reddit", "Is the Acme store open on Sunday?", "Acme"),
    ("xiaohongshu", "包装精美，物流很快，很满意", "Bolt"),
    ("douyin", "质量一般，有点失望", "Acme"),
    ("x", "Shipping was slow and the box arrived damaged, very disappointed", "Acme"),
    ("zhihu", "这个牌子的售后怎么样？", "Bolt"),
    ("youtube", "Excellent review, the Bolt speaker sounds fantastic", "Bolt"),
)


@dataclass
class ConsoleEnv:
    """What the tests get: two base URLs over one seeded database, and a way to publish more posts."""

    url: str  # app with analytics (chDB)
    url_without_analytics: str  # same database, no analytics: the 503 path
    publish: Callable[[bytes], None]  # publish one raw event and drain the runtime
    import_crm: Callable[[str], None]  # import a CRM CSV (its text) as ``scrm import-crm`` does
    find_matches: Callable[[], None]  # run the identity suggestion job once
    settle: Callable[[], None]  # drain the runtime: identity links submitted through the API are applied
    api_key: str = API_KEY
    xss_text: str = XSS_TEXT
    chinese_negative: str = CHINESE_NEGATIVE

    def post(self, n: int, platform: str, author: str, text: str, *, name: str, followers: int = 20_000,
             minutes_ago: float = 1) -> None:
        self.publish(social_event(n, platform, author, text, name=name, minutes_ago=minutes_ago, followers=followers))


@pytest.fixture(scope="module")
def console_env(tmp_path_factory: pytest.TempPathFactory, chromium: str) -> Iterator[ConsoleEnv]:
    """The seeded app, served twice. Module-scoped on purpose: chDB holds one data path per process until
    its client is closed, so the analytics store is closed when this module's tests are done, before the
    unit tests open their own shared path."""
    from analytics.client import chdb_dsn
    from api.app import ApiServices, create_app
    from api.connector_health import ConnectorHealth
    from enrichment.lexicon import LexiconEnricher
    from ingest.connectors import parse_connectors
    from streams.config import PipelineConfig
    from streams.runtimes.embedded import EmbeddedRuntime
    from streams.storage import open_storage

    tmp = tmp_path_factory.mktemp("console")
    storage = open_storage(f"sqlite:///{tmp}/t.db", chdb_dsn(tmp / "analytics"))
    enricher = LexiconEnricher()
    runtime = EmbeddedRuntime(config=PipelineConfig(), enricher=enricher, storage=storage)
    drain_lock = threading.Lock()

    def publish(value: bytes) -> None:
        with drain_lock:
            runtime.publish(value)
            runtime.drain()

    for i in range(30):
        platform, text, brand = SEED_TEXTS[i % len(SEED_TEXTS)]
        runtime.publish(social_event(i + 1, platform, f"fan{i % 11}", text, name=f"Fan {i % 11}", brand=brand,
                                     minutes_ago=20 + i * 23, followers=50 + 37 * i))
    runtime.publish(social_event(1001, "weibo", "wxm88", CHINESE_NEGATIVE, name="王小明", minutes_ago=5,
                                 followers=52000))
    runtime.publish(social_event(1002, "reddit", "mallory", XSS_TEXT, name="Mallory", minutes_ago=8,
                                 followers=20_000))
    runtime.drain()

    def import_crm(text: str) -> None:
        from profile_store.crm_import import parse_crm_csv
        from streams.jobs.crm_import import import_crm as run_import

        at = datetime.now(UTC)
        with drain_lock:
            imported = parse_crm_csv(text.splitlines(keepends=True), source_name="crm.csv", at=at)
            run_import(imported, source="crm.csv", at=at, session_factory=storage.session_factory)

    def find_matches() -> None:
        from streams.jobs.suggestions import refresh_suggestions

        with drain_lock:
            refresh_suggestions(storage.session_factory)

    def settle() -> None:
        with drain_lock:
            runtime.drain()

    def services(analytics: Any) -> ApiServices:
        connectors = parse_connectors('[connectors.acme-meta]\nplatform = "meta"\nbrand = "acme"\n'
                                      'app_secret = "s"\nverify_token = "v"\n', {})
        health = ConnectorHealth()
        health.delivered("acme-meta", events=5, skipped=0, at=datetime.now(UTC))  # a delivery a moment ago
        return ApiServices(session_factory=storage.session_factory, api_keys={API_KEY: "admin"},
                           enricher=enricher, submit_links=runtime.submit_links, analytics=analytics,
                           pipeline_stats=runtime.stats.snapshot, connectors=connectors, connector_health=health,
                           runtime_name="embedded")

    with_analytics = Server(create_app(services(storage.analytics)))
    without_analytics = Server(create_app(services(None)))
    try:
        yield ConsoleEnv(url=with_analytics.url, url_without_analytics=without_analytics.url, publish=publish,
                         import_crm=import_crm, find_matches=find_matches, settle=settle)
    finally:
        with_analytics.stop()
        without_analytics.stop()
        storage.close()
