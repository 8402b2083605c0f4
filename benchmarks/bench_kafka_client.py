"""Python CPU per message of Kafka client shells: consume N messages and produce two per consumed one
(the shape of a pipeline lane), no processing. Why the Kafka runtime is built on librdkafka.

Needs a broker (``deploy/local/kafka.sh start``). Each client runs in its own child process on fresh topics
(4 partitions); prints wall time and CPU time of that process. ``aiokafka`` and ``faust`` are measured when
installed (``pip install aiokafka faust-streaming``; not dependencies of the platform).

    python benchmarks/bench_kafka_client.py --messages 60000
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import re
import resource
import subprocess
import sys
import time
import uuid

VALUE = json.dumps({"event_id": "x" * 20, "platform": "weibo", "text": "using acme every day " * 20}).encode()


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _topics(bootstrap: str, count: int) -> tuple[str, str]:
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    source, sink = f"bench-in-{uuid.uuid4().hex[:8]}", f"bench-out-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(source, 4, 1), NewTopic(sink, 4, 1)]).values():
        future.result()
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "queue.buffering.max.messages": 1_000_000})
    for n in range(count):
        producer.produce(source, VALUE, key=f"k{n % 5000}".encode())
        if n % 10_000 == 0:
            producer.poll(0)
    producer.flush()
    return source, sink


def _confluent(bootstrap: str, source: str, sink: str, count: int) -> None:
    from confluent_kafka import Consumer, Producer

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"g-{source}", "auto.offset.reset": "earliest",
                         "enable.auto.commit": False})
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "acks": "all",
                         "queue.buffering.max.messages": 1_000_000})
    consumer.subscribe([source])
    seen = 0
    while seen < count:
        messages = consumer.consume(500, 0.2)
        for message in messages:
            for _ in range(2):
                producer.produce(sink, message.value(), key=message.key())
        producer.flush()
        if messages:
            consumer.commit(asynchronous=False)
        seen += len(messages)
    consumer.close()


def _aiokafka(bootstrap: str, source: str, sink: str, count: int) -> None:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    async def run() -> None:
        consumer = AIOKafkaConsumer(source, bootstrap_servers=bootstrap, group_id=f"g-{source}",
                                    auto_offset_reset="earliest", enable_auto_commit=False, max_poll_records=500)
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, acks="all")
        await consumer.start()
        await producer.start()
        seen = 0
        while seen < count:
            batches = await consumer.getmany(timeout_ms=200, max_records=500)
            sent = [await producer.send(sink, m.value, key=m.key) for ms in batches.values() for m in ms for _ in range(2)]
            await asyncio.gather(*sent)
            if batches:
                await consumer.commit()
            seen += sum(len(ms) for ms in batches.values())
        await consumer.stop()
        await producer.stop()

    asyncio.run(run())


def _faust(bootstrap: str, source: str, sink: str, count: int) -> None:
    import faust

    app = faust.App(f"bench-{source}", broker=f"kafka://{bootstrap}", store="memory://", key_serializer="raw",
                    value_serializer="raw", consumer_auto_offset_reset="earliest", producer_acks=-1,
                    producer_linger_ms=5, web_enabled=False, topic_partitions=4)
    inbound = app.topic(source, key_type=bytes, value_type=bytes, internal=False)
    outbound = app.topic(sink, key_type=bytes, value_type=bytes, internal=False)
    seen = [0]

    @app.agent(inbound, concurrency=1)
    async def relay(stream):  # type: ignore[no-untyped-def]
        async for events in stream.take_events(500, within=0.2):
            sent = [await outbound.send(key=e.message.key, value=e.message.value, force=True)
                    for e in events for _ in range(2)]
            await asyncio.gather(*sent)
            seen[0] += len(events)
            if seen[0] >= count:
                _report(time.monotonic())
                os._exit(0)

    sys.argv = ["bench", "worker", "--loglevel", "warn"]
    app.main()


CLIENTS = {"confluent-kafka (librdkafka)": ("confluent_kafka", _confluent), "aiokafka": ("aiokafka", _aiokafka),
           "faust-streaming": ("faust", _faust)}
STARTED: dict[str, float] = {}


def _report(now: float) -> None:
    print(json.dumps({"wall": now - STARTED["wall"], "cpu": _cpu() - STARTED["cpu"]}), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--messages", type=int, default=60_000)
    parser.add_argument("--client", choices=list(CLIENTS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        source, sink = _topics(args.bootstrap, args.messages)
        STARTED.update(wall=time.monotonic(), cpu=_cpu())
        CLIENTS[args.client][1](args.bootstrap, source, sink, args.messages)
        _report(time.monotonic())
        return 0
    print(f"{'client':30} {'consumed':>9} {'produced':>9} {'wall s':>7} {'CPU s':>6} {'CPU us / consumed msg':>22}")
    for name, (module, _) in CLIENTS.items():
        if importlib.util.find_spec(module) is None:
            print(f"{name:30} not installed")
            continue
        out = subprocess.run([sys.executable, __file__, "--bootstrap", args.bootstrap, "--messages",
                              str(args.messages), "--client", name], capture_output=True, text=True, timeout=900)
        # faust routes a worker's stdout through its logger: find the report inside the log line
        found = re.search(r'\{"wall".*?\}', out.stdout + out.stderr)
        if found is None:
            print(f"{name:30} failed: {out.stderr.strip().splitlines()[-1:]}")
            continue
        result = json.loads(found.group())
        print(f"{name:30} {args.messages:>9} {2 * args.messages:>9} {result['wall']:>7.2f} {result['cpu']:>6.2f} "
              f"{1e6 * result['cpu'] / args.messages:>22.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
