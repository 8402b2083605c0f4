"""What ``scrm serve``, ``scrm demo`` and ``scrm api`` share: the webhook receivers and the embedded
platform served with its API, console, receivers, pollers and dispatcher in one process. Composition
only."""

from __future__ import annotations

import os
import secrets
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from api.app import ApiServices
from api.connector_health import ConnectorHealth
from api.pulls import KfPuller
from api.webhooks import Receivers
from ingest.adapters.base import WebhookReply, WebhookRequest
from ingest.connectors import AnyConnector, Connector
from ingest.sink import IntakeSink
from streams.runtimes.embedded import EmbeddedRuntime
from streams.settings import EmbeddedSettings

Deliver = Callable[[str, WebhookRequest], WebhookReply]
"""Hand one request to the named connector's receiver, as the HTTP route does (the demo's native feed)."""


def now_utc() -> datetime:
    return datetime.now(UTC)


def read_connectors(path: Path | None, command: str) -> dict[str, AnyConnector] | None:
    """The connectors of ``path`` (none without one), with ``SCRM_CONNECTORS__*`` from the environment;
    ``None`` after printing why when the file is not valid (the caller exits 2)."""
    from ingest.connectors import load_connectors
    from ingest.exceptions import ConnectorsFileError

    if path is None:
        return {}
    try:
        return load_connectors(path, os.environ)
    except ConnectorsFileError as exc:
        print(f"scrm {command}: {exc}", file=sys.stderr)
        return None


@contextmanager
def receivers(
    connectors: Mapping[str, AnyConnector], sink: IntakeSink, session_factory: sessionmaker[Session]
) -> Iterator[tuple[ConnectorHealth, KfPuller]]:
    """The receivers' health counters and a started 微信客服 puller; the puller stops on exit."""
    health = ConnectorHealth()
    puller = KfPuller(sink=sink, session_factory=session_factory, health=health, clock=now_utc)
    puller.start()
    try:
        yield health, puller
    finally:
        puller.close()


def serve_embedded(
    settings: EmbeddedSettings,
    *,
    command: str,
    banner: Callable[[str], str],
    feed: Callable[[EmbeddedRuntime, Deliver, threading.Event], None] | None = None,
    extra_connectors: Mapping[str, AnyConnector] | None = None,
) -> int:
    """Run the embedded platform (pipeline, dispatcher, the API with console, webhook receivers, pollers and
    generic ingest on the intake journal) until Ctrl-C; ``feed`` (the demo's simulator) runs on a thread of
    its own. ``banner(admin_key)`` is printed once serving (the key generated when ``api_keys`` is empty;
    ``<your key>`` when the operator set keys, which are never printed). Exits with the runtime's exit code when the pipeline
    gives up (never a dead pipeline behind a live API), 2 for a bad connectors file. Blocks."""
    import uvicorn
    from prometheus_client.registry import Collector

    from alerts.dispatch import Dispatcher
    from alerts.routing import RoutingConfig, load_routing
    from api.app import create_app
    from api.auth import Keyring, database_keys
    from api.settings import parse_api_keys
    from ingest.connectors import poll_connectors
    from profile_store.segments.builtins import install_builtins
    from scrm.erasing import embedded_erasure
    from scrm.heap import settle_heap
    from scrm.logs import uvicorn_log_config
    from scrm.observability import ConnectorCollector, PollCollector, observe
    from scrm.pollers import poll_runner
    from scrm.wiring import embedded_platform
    from streams.jobs.segments import run_sweeps
    from streams.runtimes.journal import JournalSink
    from streams.steps.segment_messages import segment_change_messages

    connectors = read_connectors(settings.connectors_file, command)
    if connectors is None:
        return 2
    connectors = {**(extra_connectors or {}), **connectors}
    given = parse_api_keys(settings.api_keys.get_secret_value())
    keys = given or {secrets.token_urlsafe(16): "admin"}
    # a key the operator set is theirs and is never printed; one made here is shown once, in the banner
    admin = "<your key>" if given else next(iter(keys))
    stop = threading.Event()
    with embedded_platform(settings) as platform:
        runtime = platform.runtime
        settle_heap()
        with platform.storage.session_factory.begin() as session:
            install_builtins(at=datetime.now(UTC), session=session)
        sink = JournalSink(runtime, platform.storage.session_factory)
        sink.recover()
        routing = load_routing(settings.routing_file) if settings.routing_file else RoutingConfig()
        dispatcher = Dispatcher(platform.storage.session_factory, routing)
        server: uvicorn.Server | None = None

        def pipeline() -> None:
            runtime.run(stop)
            if runtime.failure and server is not None:
                server.should_exit = True

        threads = [
            threading.Thread(target=pipeline, name="pipeline", daemon=True),
            threading.Thread(target=run_sweeps, args=(platform.storage.session_factory, stop),
                             kwargs={"every_seconds": settings.pipeline.segment_sweep_seconds,
                                     "publish": lambda changes: runtime.emit(segment_change_messages(changes))},
                             name="segment-sweep", daemon=True),
            threading.Thread(target=dispatcher.run, args=(stop,), name="dispatcher", daemon=True),
        ]
        polled = poll_connectors(connectors)
        collectors: list[Collector] = []
        if polled:
            runner = poll_runner(polled, sink, platform.storage.session_factory)
            threads.append(threading.Thread(target=runner.run, args=(stop,), name="pollers", daemon=True))
            collectors.append(PollCollector(runner.health))
        with receivers(connectors, sink, platform.storage.session_factory) as (health, puller):
            seen = observe(runtime.lanes(), platform.storage, stall_seconds=settings.pipeline.stall_seconds,
                           extra=[ConnectorCollector(health, connectors), *collectors])
            erase, verify_erasure = embedded_erasure(runtime, platform.storage)
            services = ApiServices(
                session_factory=platform.storage.session_factory,
                api_keys=keys,
                keyring=Keyring(keys, database_keys(platform.storage.session_factory)),
                enricher=platform.enricher,
                submit_links=runtime.submit_links,
                analytics=platform.storage.analytics,
                analyst_door=platform.analyst_door,
                pipeline_stats=runtime.stats.snapshot,
                pipeline_failure=lambda: runtime.failure,
                runtime_name="embedded",
                intake=sink,
                connectors=connectors,
                pulls=puller,
                connector_health=health,
                readiness=seen.readiness,
                metrics=seen.registry,
                erase=erase,
                verify_erasure=verify_erasure,
            )
            app = create_app(services)
            receiving: Receivers = app.state.receivers

            webhooks = {name: c for name, c in connectors.items() if isinstance(c, Connector)}

            def deliver(name: str, request: WebhookRequest) -> WebhookReply:
                return receiving.receive(webhooks[name], request)

            if feed is not None:
                threads.append(threading.Thread(target=feed, args=(runtime, deliver, stop), name="feed", daemon=True))
            for thread in threads:
                thread.start()
            print(banner(admin), file=sys.stderr, flush=True)
            server = uvicorn.Server(uvicorn.Config(app, host=settings.host, port=settings.port, log_level="warning",
                                                   log_config=uvicorn_log_config()))
            try:
                server.run()
            finally:
                stop.set()
                for thread in threads:
                    thread.join(timeout=10)
                sink.close()
                dispatcher.close()
    if runtime.failure:
        print(f"scrm {command}: the pipeline stopped: {runtime.failure}", file=sys.stderr)
        return runtime.exit_code
    return 0
