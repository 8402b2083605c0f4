"""Alert latency with the real Kafka runtime: event appended to ``scrm.events.raw`` -> webhook delivery.

Starts (on non-default ports, in a temp dir) Kafka via ``deploy/local/kafka.sh`` and PostgreSQL via
``deploy/local/postgres.sh``, one ``scrm worker`` process per ``--workers`` lane list and an alert dispatcher process
(``scrm dispatch``) routing every opportunity to a signed webhook served by this script.
Then produces a background stream at ``--rate`` events/s and, every ``--probe-every`` events, a purchase-intent
probe from a new customer (each opens a new incident). Latency = webhook receive time - probe produce time
(same host clock). The background is ``--stream simulated`` (the platform's simulator: likes, follows, shares,
comments, chats, reviews in realistic proportions, ~62 % with text, event time = now) or ``--stream chatter``
(every event a text post: the worst case for enrichment). Payloads are serialised before the clock starts and
sent with librdkafka (``confluent-kafka``: ~2 % of a core at 1,000 events/s, where
kafka-python took a third of one of the two cores being measured). ``--warm-seconds`` of the same stream run first, unmeasured
(the JVM's JIT and PostgreSQL's caches warm up), so the table is the steady state. Prints latency (end to end, and per hop from the
probes' message timestamps on ``scrm.events.enriched`` and ``scrm.alerts``) and how many cores each process kept
busy while the stream was produced (all share the same cores; a process falling behind shows less than it needs)
and each worker process's CPU microseconds per event, counted until the last probe came out (run one lane per
process, ``--workers enrich apply alert identity,deadletter``, for the cost of each lane).

Segments: ``--profiles N`` first writes N generated profiles to PostgreSQL (``bench_segments.write_profiles``)
and ``--segments K`` saves the first K rules of ``bench_segments.RULES`` (they include ``prospects``, which
every probe, a new customer, enters with its first event); the table then adds the latency from the probe's
produce to its entry on ``scrm.segments.changes`` (live membership in the apply lane, under that load).

    pip install -e .
    python benchmarks/bench_alert_latency.py --rate 1000 --seconds 60
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import local_servers
from confluent_kafka import Producer

RECEIVED: dict[str, float] = {}


class Hook(BaseHTTPRequestHandler):
    """The webhook receiver: records when each incident's events arrived; keeps connections open."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        now = time.time()
        for event_id in body["incident"]["event_ids"]:
            RECEIVED.setdefault(event_id, now)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


class HookServer(ThreadingHTTPServer):
    """A listen backlog for every sender thread (the default 5 drops connection attempts under a burst,
    and the client retries a dropped one only after a second)."""

    request_queue_size = 128
    daemon_threads = True


def _event(n: int, probe: bool) -> dict[str, object]:
    at = datetime.now(UTC).isoformat()
    author = f"probe-{uuid.uuid4().hex[:10]}" if probe else f"bg-{n % 5000}"
    text = "where can I buy the acme x1? 想买" if probe else f"using acme every day {n}"
    return {"event_id": f"{author}-{n}", "platform": "weibo", "kind": "post", "occurred_at": at, "received_at": at,
            "author": {"id": author, "followers": 100}, "brand": "acme", "text": text, "source": "benchmark"}


def _record(event: dict[str, object]) -> tuple[bytes | None, bytes]:
    """(key, value) of an event as any connector would publish it."""
    from ingest.producer import partition_key

    value = json.dumps(event).encode()
    return partition_key(value), value


def _background(stream: str, count: int, rate: int, customers: int) -> list[tuple[bytes | None, bytes]]:
    """``count`` (key, value) records of the background stream, serialised ahead of the run."""
    if stream == "chatter":
        return [_record(_event(n, False)) for n in range(count)]
    from ingest.producer import partition_key
    from ingest.simulator import SimulatorConfig, raw_records

    config = SimulatorConfig(start=datetime.now(UTC), events_per_hour=rate * 3600.0, customers=customers,
                             invalid_ratio=0.005)
    return [(partition_key(value), value) for value in itertools.islice(raw_records(config), count)]


def _produce(producer: Producer, records: list[tuple[bytes | None, bytes]], rate: int) -> None:
    from streams.topics import RAW_EVENTS

    start = time.monotonic()
    for n, (key, value) in enumerate(records):
        producer.produce(RAW_EVENTS, value=value, key=key)
        _pace(producer, start + (n + 1) / rate)
    producer.flush()


def _pace(producer: Producer, due: float) -> None:
    """Serve the producer's delivery callbacks, and sleep until ``due`` (monotonic) if ahead of it."""
    producer.poll(0)
    lag = due - time.monotonic()
    if lag > 0:
        time.sleep(lag)


def _cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(spent - before.get(pid, 0.0) for pid, spent in after.items())


def _warm_up(producer: Producer, *, sent_at: float, timeout: float = 180.0) -> None:
    """Until one probe has been delivered end to end (group joined, model loaded), not measured."""
    from streams.topics import RAW_EVENTS

    event = _event(-1, True)
    key, value = _record(event)
    producer.produce(RAW_EVENTS, value=value, key=key)
    producer.flush()
    deadline = time.monotonic() + timeout
    while str(event["event_id"]) not in RECEIVED and time.monotonic() < deadline:
        time.sleep(0.2)
    print(f"warm-up probe delivered after {time.time() - sent_at:.1f} s", file=sys.stderr)


def _stage_times(bootstrap: str, probes: set[str], *, segments: bool) -> dict[str, dict[str, float]]:
    """For each topic the probes pass through (``scrm.events.enriched``, ``scrm.alerts``, with ``segments``
    ``scrm.segments.changes``): probe event id -> when its message there was produced (the message
    timestamp, epoch seconds; a segment change names the probe in its cause)."""
    from confluent_kafka import Consumer

    from streams.topics import ALERTS, ENRICHED_EVENTS, SEGMENT_CHANGES

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-stages-{uuid.uuid4().hex[:8]}",
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    topics = [ENRICHED_EVENTS, ALERTS, *([SEGMENT_CHANGES] if segments else [])]
    consumer.subscribe(topics)
    found: dict[str, dict[str, float]] = {topic: {} for topic in topics}
    quiet = 0
    while quiet < 5 and any(len(times) < len(probes) for times in found.values()):
        messages = consumer.consume(10_000, 1.0)
        quiet = 0 if messages else quiet + 1
        for message in messages:
            value = message.value()
            if message.error() or not value or b"probe-" not in value:
                continue
            data = json.loads(value)
            if message.topic() == SEGMENT_CHANGES:
                event_id = str(data.get("cause") or "").rpartition("/")[2]
            elif message.topic() == ENRICHED_EVENTS:
                event_id = data["event"]["event_id"]
            else:
                event_id = data.get("event_id")
            if event_id in probes:
                found[message.topic() or ""].setdefault(event_id, message.timestamp()[1] / 1000)
    consumer.close()
    return found


def _stage_rows(sent: dict[str, float], stages: dict[str, dict[str, float]]) -> list[tuple[str, object]]:
    """p50 / p99 of each hop: produced -> enriched published -> alert published -> webhook received."""
    from streams.topics import ALERTS, ENRICHED_EVENTS, SEGMENT_CHANGES

    hops = [("raw -> enriched", sent, stages[ENRICHED_EVENTS]), ("enriched -> alert", stages[ENRICHED_EVENTS], stages[ALERTS]),
            ("alert -> webhook", stages[ALERTS], RECEIVED)]
    if SEGMENT_CHANGES in stages:
        hops += [("enriched -> segment change", stages[ENRICHED_EVENTS], stages[SEGMENT_CHANGES]),
                 ("raw -> segment change (end to end)", sent, stages[SEGMENT_CHANGES])]
    rows: list[tuple[str, object]] = []
    for name, start, end in hops:
        spans = sorted((end[e] - start[e]) * 1000 for e in sent if e in start and e in end)
        if len(spans) >= 2:
            q = statistics.quantiles(spans, n=100)
            rows += [(f"p50 ms, {name}", round(q[49], 1)), (f"p99 ms, {name}", round(q[98], 1))]
    return rows


def _prepare_segments(db_url: str, profiles: int, segments: int) -> None:
    """Write ``profiles`` generated profiles and save ``segments`` rules (each evaluated over them)."""
    import bench_segments

    from profile_store.segments import parse_text
    from profile_store.segments.store import create_segment
    from streams.storage import open_storage

    storage = open_storage(db_url, None)
    clock = datetime.now(UTC)
    bench_segments.write_profiles(storage.session_factory, profiles, clock)
    for name, rule in bench_segments.RULES[:segments]:
        with storage.session_factory.begin() as session:
            created = create_segment(name, parse_text(rule), by="bench", at=clock, session=session)
        print(f"segment {name}: {created.members:,} members", file=sys.stderr)
    storage.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--probe-every", type=int, default=100)
    parser.add_argument("--stream", choices=("simulated", "chatter"), default="simulated")
    parser.add_argument("--customers", type=int, default=5000,
                        help="simulated customer population (at 1,000/s and 5,000 each acts every 5 s)")
    parser.add_argument("--warm-seconds", type=int, default=15,
                        help="background stream at --rate before measuring (JVM JIT, caches); no probes, not measured")
    parser.add_argument("--batch-ms", type=int, help="a lane starts a batch at most this often "
                        "(SCRM_PIPELINE__BATCH_MAX_MS; default: the workers' default)")
    parser.add_argument("--workers", nargs="+", default=["enrich,apply,alert,identity"], metavar="LANES",
                        help="one scrm worker process per argument, running those lanes (e.g. `enrich,alert apply,identity`: "
                        "enrichment and application in separate processes)")
    parser.add_argument("--partitions", type=int, default=2, help="partitions of every topic (default 2)")
    parser.add_argument("--profiles", type=int, default=0, help="generated profiles written before the run")
    parser.add_argument("--segments", type=int, default=0, help="segments saved before the run (bench_segments.RULES)")
    parser.add_argument("--kafka-port", type=int, default=39092)
    parser.add_argument("--pg-port", type=int, default=55932)
    args = parser.parse_args()
    from streams.admin import ensure_topics
    from streams.config import PipelineConfig
    from streams.topics import RAW_EVENTS

    work = Path(tempfile.mkdtemp(prefix="scrm-alert-bench-"))
    env = {**os.environ, "KAFKA_PORT": str(args.kafka_port), "KAFKA_CONTROLLER_PORT": str(args.kafka_port + 1),
           "KAFKA_DATA_DIR": str(work / "kafka"), "PGPORT": str(args.pg_port), "PG_DATA_DIR": str(work / "pg")}
    bootstrap = f"127.0.0.1:{args.kafka_port}"
    local_servers.start("kafka.sh", env)
    db_url = local_servers.start("postgres.sh", env)
    ensure_topics(bootstrap, args.partitions)
    if args.profiles or args.segments:
        _prepare_segments(db_url, args.profiles, args.segments)
    hook = HookServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    routing = work / "routing.json"
    routing.write_text(json.dumps({
        "channels": {"hook": {"type": "webhook", "url": f"http://127.0.0.1:{hook.server_address[1]}/",
                              "secret": "bench"}},
        "routes": [{"name": "sales", "team": "sales", "kinds": ["opportunity"], "channels": ["hook"]}]}))
    # every probe opens its own incident: lift the fire cap, which would otherwise (correctly) fold all
    # but 20 probes an hour into one overflow incident and hide their latency
    run_env = {**env, "SCRM_KAFKA_BOOTSTRAP": bootstrap, "SCRM_DATABASE_URL": db_url,
               "SCRM_PARTITIONS": str(args.partitions),
               "SCRM_PIPELINE__ALERTS__INCIDENTS__MAX_NEW_PER_WINDOW": "1000000"}
    if args.batch_ms is not None:
        run_env["SCRM_PIPELINE__BATCH_MAX_MS"] = str(args.batch_ms)
    worker_log, dispatch_log = (work / "worker.log").open("wb"), (work / "dispatch.log").open("wb")
    workers = [subprocess.Popen([sys.executable, "-m", "scrm.cli", "worker", "--lanes", lanes], env=run_env,
                                stdout=worker_log, stderr=subprocess.STDOUT) for lanes in args.workers]
    dispatcher = subprocess.Popen([sys.executable, "-m", "scrm.cli", "dispatch", "--database-url", db_url,
                                   "--routing", str(routing)], env=run_env,
                                  stdout=dispatch_log, stderr=subprocess.STDOUT)
    # murmur2_random: the Java client's partitioner (librdkafka's default hashes keys differently)
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5, "partitioner": "murmur2_random"})
    sent: dict[str, float] = {}
    total = args.rate * args.seconds
    processes = {f"worker {n + 1} ({lanes})": [w.pid] for n, (lanes, w) in enumerate(zip(args.workers, workers, strict=True))}
    processes |= {"dispatcher": [dispatcher.pid], "producer (this script)": [os.getpid()],
                  "kafka broker": [int((work / "kafka" / "kafka.pid").read_text())]}
    try:
        warm = args.rate * args.warm_seconds
        background = _background(args.stream, warm + total, args.rate, args.customers)
        _warm_up(producer, sent_at=time.time())
        _produce(producer, background[:warm], args.rate)
        background = background[warm:]
        processes["postgresql"] = local_servers.postgres_pids(work / "pg" / "pgdata")
        cpu_before = {name: local_servers.cpu_seconds(pids) for name, pids in processes.items()}
        start = time.monotonic()
        for n, (key, value) in enumerate(background):
            if n % args.probe_every == 0:
                probe = _event(n, True)
                probe_key, probe_value = _record(probe)
                producer.produce(RAW_EVENTS, value=probe_value, key=probe_key)
                sent[str(probe["event_id"])] = time.time()
            producer.produce(RAW_EVENTS, value=value, key=key)
            _pace(producer, start + (n + 1) / args.rate)
        producer.flush()
        produced_in = time.monotonic() - start
        processes["postgresql"] = local_servers.postgres_pids(work / "pg" / "pgdata")
        cpu = {name: _cpu_used(cpu_before.get(name, {}), local_servers.cpu_seconds(pids)) for name, pids in processes.items()}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(set(sent) & set(RECEIVED)) < len(sent):
            time.sleep(0.5)
        # the cost per event counts until the last probe came out: a lane behind the stream is still paying
        done = {name: _cpu_used(cpu_before.get(name, {}), local_servers.cpu_seconds(pids))
                for name, pids in processes.items() if name.startswith("worker")}
        stages = _stage_times(bootstrap, set(sent), segments=args.segments > 0)
    finally:
        producer.flush(10)
        for process in (dispatcher, *workers):
            process.terminate()
            process.wait(timeout=30)
        worker_log.close()
        dispatch_log.close()
        local_servers.stop("kafka.sh", env)
        local_servers.stop("postgres.sh", env)
        # a run writes ~1 GB of broker and database files; the logs stay for reading
        shutil.rmtree(work / "kafka", ignore_errors=True)
        shutil.rmtree(work / "pg" / "pgdata", ignore_errors=True)
        print(f"logs: {work}", file=sys.stderr)
    in_order = [(RECEIVED[e] - t) * 1000 for e, t in sent.items() if e in RECEIVED]
    latencies = sorted(in_order)
    if not latencies:
        print("no probe was delivered; see", work)
        return 1
    q = statistics.quantiles(latencies, n=100)
    print(f"{'metric':<28}{'value':>12}")
    rows: list[tuple[str, object]] = [
        ("stream", args.stream), ("worker processes (lanes)", " + ".join(args.workers)), ("events/s (target)", args.rate), ("events/s (produced)", round(total / produced_in)),
        ("profiles before the run", args.profiles), ("segments", args.segments),
        ("batch window ms", args.batch_ms if args.batch_ms is not None else PipelineConfig().batch_max_ms), ("probes sent", len(sent)), ("probes delivered", len(latencies)),
        ("p50 latency ms", round(q[49], 1)), ("p99 latency ms", round(q[98], 1)), ("max latency ms", round(latencies[-1], 1)),
        ("median ms, first tenth of probes", round(statistics.median(in_order[: max(1, len(in_order) // 10)]), 1)),
        ("median ms, last tenth of probes", round(statistics.median(in_order[-max(1, len(in_order) // 10):]), 1)),
    ]
    rows += _stage_rows(sent, stages)
    rows += [(f"cores busy while producing: {name}", round(seconds / produced_in, 2)) for name, seconds in cpu.items()]
    rows.append(("cores busy while producing: all", round(sum(cpu.values()) / produced_in, 2)))
    produced = len(background)
    rows += [(f"CPU us per event: {name}", round(seconds * 1e6 / produced)) for name, seconds in done.items()]
    rows.append(("CPU us per event: all workers", round(sum(done.values()) * 1e6 / produced)))
    for name, value in rows:
        print(f"{name:<52}{value!s:>12}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
