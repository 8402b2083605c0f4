"""Webhook receivers under load: signed Meta deliveries (5 changes each) and WeChat safe-mode XML, posted to
``scrm serve`` (embedded: intake journal on disk), to ``scrm api`` on Kafka (acks=all on
``scrm.events.raw``) and to a bare uvicorn endpoint that only reads the body and answers 200 (the ceiling of
the HTTP stack on this box).

Two measurements per target and payload:
- ``max``: a closed loop of ``--connections`` keep-alive connections for ``--seconds``: sustained
  deliveries/s and events/s, p50/p99 time to answer.
- ``@rate``: an open loop at ``--rate`` deliveries/s: p50/p99 time to answer, counted from the instant each
  request was due (so a stalled server cannot hide its queue: no coordinated omission).
Server CPU per event is the server processes' user+system time (for Kafka, the API process and the broker;
for ``scrm serve``, the one process, whose pipeline also enriches and applies what it takes in) divided by
the events answered. The load generator (this script: asyncio, raw HTTP/1.1) runs on the same 2 cores, so
the figures are a floor of what a separate load host would see; the ratio to the bare endpoint is the
portable number.

    python benchmarks/bench_webhooks.py [--seconds 10] [--rate 1000] [--connections 32]
                                        [--targets bare serve api] [--payloads meta wechat]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import local_servers

from ingest.contracts import EventKind, Platform
from ingest.simulator import SimulatorConfig, simulate_events
from ingest.simulator.native import DemoConnectors, native_request

BRAND = "acme"
CHANGES_PER_META_DELIVERY = 5


@dataclass(frozen=True)
class Request:
    """One pre-built HTTP request: its bytes on the wire and how many events it carries."""

    wire: bytes
    events: int


def _connectors() -> DemoConnectors:
    return DemoConnectors.create(BRAND, os.urandom(32))


def _wire(path: str, headers: dict[str, str], body: bytes, host: str) -> bytes:
    head = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def build_requests(payload: str, count: int, connectors: DemoConnectors, host: str) -> list[Request]:
    """``count`` distinct signed deliveries of the simulated stream, re-homed to the payload's platform."""
    platform, kind = (Platform.FACEBOOK, EventKind.COMMENT) if payload == "meta" else (Platform.WECHAT,
                                                                                      EventKind.CHAT_MESSAGE)
    per = CHANGES_PER_META_DELIVERY if payload == "meta" else 1
    now = datetime.now(UTC)
    config = SimulatorConfig(seed=3, brands=(BRAND,), start=now, events_per_hour=100_000, customers=5000)
    rendered = []
    for n, event in enumerate(simulate_events(config)):
        if len(rendered) >= count * per:
            break
        if not event.text:
            continue
        event = event.model_copy(update={"platform": platform, "kind": kind, "brand": BRAND,
                                         "identity_hints": type(event.identity_hints)()})
        native = native_request(event, {BRAND: connectors}, sent_at=now, nonce=n.to_bytes(16, "big"))
        assert native is not None
        rendered.append(native)
    requests = []
    for group in (rendered[i:i + per] for i in range(0, len(rendered), per)):
        first = group[0]
        path = f"/v1/ingest/webhooks/{first.connector}"
        if payload == "wechat":
            query = urlencode(dict(first.request.query))
            requests.append(Request(_wire(f"{path}?{query}", {"Content-Type": "text/xml"}, first.request.body,
                                          host), 1))
            continue
        deliveries = [json.loads(r.request.body) for r in group]
        merged = deliveries[0]
        merged["entry"][0]["changes"] = [d["entry"][0]["changes"][0] for d in deliveries]
        body = json.dumps(merged, ensure_ascii=True, separators=(",", ":")).encode()
        mac = hmac.new(connectors.meta.app_secret.get_secret_value().encode(), body, hashlib.sha256).hexdigest()
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={mac}"}
        requests.append(Request(_wire(path, headers, body, host), len(group)))
    return requests


async def _exchange(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, wire: bytes) -> int:
    """Send one request and read its response; returns the status."""
    writer.write(wire)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    return status


@dataclass
class Run:
    deliveries: int = 0
    events: int = 0
    failures: int = 0
    latencies: list[float] | None = None
    seconds: float = 0.0


async def closed_loop(port: int, requests: list[Request], connections: int, seconds: float) -> Run:
    """``connections`` clients, each sending its next request as soon as the last is answered."""
    run, latencies = Run(), []
    feed = itertools.cycle(requests)
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while time.perf_counter() < deadline:
            request = next(feed)
            began = time.perf_counter()
            status = await _exchange(reader, writer, request.wire)
            latencies.append(time.perf_counter() - began)
            run.deliveries += 1
            run.events += request.events if status == 200 else 0
            run.failures += status != 200
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(connections)))
    run.seconds, run.latencies = time.perf_counter() - started, latencies
    return run


async def open_loop(port: int, requests: list[Request], rate: float, seconds: float, max_connections: int) -> Run:
    """Request ``i`` is due at ``start + i / rate``; latency counts from that instant."""
    run, latencies = Run(), []
    idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    opened = 0
    total = int(rate * seconds)
    start = time.perf_counter() + 0.05

    async def one(due: float, request: Request) -> None:
        nonlocal opened
        if idle:
            connection = idle.pop()
        elif opened < max_connections:
            opened += 1
            connection = await asyncio.open_connection("127.0.0.1", port)
        else:
            while not idle:
                await asyncio.sleep(0.0005)
            connection = idle.pop()
        status = await _exchange(*connection, request.wire)
        latencies.append(time.perf_counter() - due)
        idle.append(connection)
        run.deliveries += 1
        run.events += request.events if status == 200 else 0
        run.failures += status != 200

    tasks = []
    for i, request in zip(range(total), itertools.cycle(requests), strict=False):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(due, request)))
    await asyncio.gather(*tasks)
    run.seconds, run.latencies = time.perf_counter() - start, latencies
    for _, writer in idle:
        writer.close()
    return run


def _quantile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] * 1000 if len(values) > 1 else float("nan")


def _wait_http(url: str, timeout_s: float, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited ({process.returncode}) before serving {url}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {timeout_s:.0f} s")


BARE_APP = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain"), (b"content-length", b"7")]})
    await send({"type": "http.response.body", "body": b"success"})
"""


@dataclass
class Target:
    name: str
    process: subprocess.Popen[bytes]
    pids: list[int]
    port: int


def start_target(name: str, work: Path, toml: Path, env: dict[str, str]) -> Target:
    port = local_servers.free_port()
    log = (work / f"{name}.log").open("wb")
    if name == "bare":
        (work / "bare_app.py").write_text(BARE_APP)
        cmd = [sys.executable, "-m", "uvicorn", "bare_app:app", "--port", str(port), "--log-level", "warning",
               "--app-dir", str(work)]
        health = f"http://127.0.0.1:{port}/"
    elif name == "serve":
        cmd = [sys.executable, "-m", "scrm.cli", "serve", "--data-dir", str(work / "serve"), "--port", str(port),
               "--connectors", str(toml)]
        health = f"http://127.0.0.1:{port}/healthz"
    else:
        cmd = [sys.executable, "-m", "scrm.cli", "api", "--port", str(port), "--connectors", str(toml)]
        health = f"http://127.0.0.1:{port}/healthz"
    process = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    _wait_http(health, 180, process)
    return Target(name, process, [process.pid], port)


def measure(target: Target, payload: str, requests: list[Request], args: argparse.Namespace,
            extra_pids: list[int]) -> list[tuple[str, ...]]:
    rows = []
    asyncio.run(closed_loop(target.port, requests[:200], 8, 1.0))  # warm up: imports, caches, JIT of the broker
    for mode in ("max", f"@{args.rate:g}/s"):
        pids = target.pids + extra_pids
        before = local_servers.cpu_seconds(pids)
        if mode == "max":
            run = asyncio.run(closed_loop(target.port, requests, args.connections, args.seconds))
        else:
            run = asyncio.run(open_loop(target.port, requests, args.rate, args.seconds, args.connections * 4))
        after = local_servers.cpu_seconds(pids)
        cpu = sum(after[p] - before.get(p, 0.0) for p in after)
        latencies = run.latencies or []
        rows.append((target.name, payload, mode, f"{run.deliveries / run.seconds:,.0f}",
                     f"{run.events / run.seconds:,.0f}", f"{_quantile(latencies, 50):.1f}",
                     f"{_quantile(latencies, 99):.1f}", f"{cpu * 1000 / max(run.events, 1):.3f}",
                     str(run.failures)))
        print(" | ".join(rows[-1]), file=sys.stderr, flush=True)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=1000.0, help="deliveries per second of the open loop")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--targets", nargs="+", choices=("bare", "serve", "api"), default=["bare", "serve", "api"])
    parser.add_argument("--payloads", nargs="+", choices=("meta", "wechat"), default=["meta", "wechat"])
    parser.add_argument("--kafka-port", type=int, default=39192)
    parser.add_argument("--pg-port", type=int, default=55962)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="scrm-webhook-bench-"))
    connectors = _connectors()
    toml = work / "connectors.toml"
    toml.write_text(connectors.connectors_toml())
    print("building signed deliveries ...", file=sys.stderr, flush=True)
    requests = {p: build_requests(p, 4000, connectors, "127.0.0.1") for p in args.payloads}
    server_env = {**os.environ, "KAFKA_PORT": str(args.kafka_port), "KAFKA_CONTROLLER_PORT": str(args.kafka_port + 1),
                  "KAFKA_DATA_DIR": str(work / "kafka"), "PGPORT": str(args.pg_port), "PG_DATA_DIR": str(work / "pg")}
    env = {**os.environ, "SCRM_API_KEYS": "bench-admin:admin", "HF_HUB_OFFLINE": "1"}
    rows: list[tuple[str, ...]] = []
    bare_events: dict[tuple[str, str], float] = {}
    servers_up = False
    try:
        for name in args.targets:
            extra: list[int] = []
            if name == "api":
                local_servers.start("kafka.sh", server_env)
                db_url = local_servers.start("postgres.sh", server_env)
                servers_up = True
                bootstrap = f"127.0.0.1:{args.kafka_port}"
                env |= {"SCRM_KAFKA_BOOTSTRAP": bootstrap, "SCRM_DATABASE_URL": db_url}
                subprocess.run([sys.executable, "-m", "scrm.cli", "db", "upgrade", "--database-url", db_url],
                               env=env, check=True, capture_output=True)
                from streams.admin import ensure_topics

                ensure_topics(bootstrap, 2)
                extra = [int((work / "kafka" / "kafka.pid").read_text())]
            target = start_target(name, work, toml, env)
            try:
                for payload in args.payloads:
                    for row in measure(target, payload, requests[payload], args, extra):
                        rows.append(row)
                        if name == "bare":
                            bare_events[(payload, row[2])] = float(row[4].replace(",", ""))
            finally:
                target.process.terminate()
                target.process.wait(timeout=60)
    finally:
        if servers_up:
            local_servers.stop("kafka.sh", server_env)
            local_servers.stop("postgres.sh", server_env)
            shutil.rmtree(work / "kafka", ignore_errors=True)
            shutil.rmtree(work / "pg" / "pgdata", ignore_errors=True)
        print(f"logs: {work}", file=sys.stderr)
    print("\n| target | payload | load | deliveries/s | events/s | p50 ms | p99 ms | server CPU ms/event | non-200 "
          "| events/s vs bare |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        bare = bare_events.get((row[1], row[2]))
        ratio = f"{float(row[4].replace(',', '')) / bare:.2f}" if bare and row[0] != "bare" else "-"
        print("| " + " | ".join((*row, ratio)) + " |")
    print(f"\n{os.cpu_count()} cores; load generator on the same box; {args.seconds:g} s per load; "
          f"Meta deliveries carry {CHANGES_PER_META_DELIVERY} changes, WeChat pushes one message.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
