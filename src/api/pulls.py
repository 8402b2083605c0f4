"""The pulls inside push connectors, off the request path: a WeCom 微信客服 callback only announces new
messages (``Delivery.pulls``); the receiver answers at once and hands the pull here, where one background
thread fetches the messages (``kf/sync_msg``) from the stored cursor, puts the events (and unreadable items,
as dead letters) into the intake sink, and only then stores the new cursor.

A pull that fails (WeCom's API, the network, the intake) is counted on the connector's health with the
reason and dropped: the cursor stays where it was, so the next callback's pull fetches those messages again
(at least once; event ids are msgids, so they count once).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

import httpx
from sqlalchemy.orm import Session, sessionmaker

from api.connector_health import ConnectorHealth
from ingest.adapters.base import Pull
from ingest.adapters.wecom import KF_SYNC_MSG, WeComConfig
from ingest.adapters.wecom_kf import events_from_kf_messages
from ingest.connectors import Connector
from ingest.deadletter import DeadLetter
from ingest.exceptions import IntakeUnavailable, PlatformApiError
from ingest.polling.cursors import kf_endpoint, load_cursor, save_cursor
from ingest.polling.spec import Cursor
from ingest.sink import IntakeSink
from ingest.webhooks.wecom_kf import KfSync, WeComApi

log = logging.getLogger(__name__)

_STOP = None


class KfClient(Protocol):
    """What the puller needs of ``ingest.webhooks.wecom_kf.WeComApi``."""

    def sync_kf(self, pull: Pull, *, cursor: str | None) -> KfSync: ...

    def close(self) -> None: ...


class KfPuller:
    """Runs pulls in order on its own thread (``start``), or on the caller's (``run_pending``, for tests).
    ``submit`` never blocks. ``client_for`` builds a connector's API client (default ``WeComApi``); one per
    connector, used only by the pulling thread."""

    def __init__(
        self,
        *,
        sink: IntakeSink,
        session_factory: sessionmaker[Session],
        health: ConnectorHealth,
        clock: Callable[[], datetime],
        client_for: Callable[[WeComConfig], KfClient] | None = None,
    ) -> None:
        self._sink = sink
        self._session_factory = session_factory
        self._health = health
        self._clock = clock
        self._client_for = client_for or (lambda config: WeComApi(config, clock=clock))
        self._clients: dict[str, KfClient] = {}
        self._queue: queue.Queue[tuple[Connector, Pull] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        logging.getLogger("httpx").setLevel(logging.WARNING)  # WeCom puts secrets in query strings

    def submit(self, connector: Connector, pull: Pull) -> None:
        """Queue ``pull`` for ``connector``; returns at once."""
        self._queue.put((connector, pull))

    def start(self) -> None:
        """Start the pulling thread."""
        self._thread = threading.Thread(target=self._run, name="kf-puller", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop the thread after the pull in progress, and close the API clients."""
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join()
        for client in self._clients.values():
            client.close()

    def run_pending(self) -> int:
        """Run every queued pull on this thread (including those they queue); returns how many ran."""
        ran = 0
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return ran
            if item is not None:
                self._pull(*item)
                ran += 1

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            self._pull(*item)

    def _pull(self, connector: Connector, pull: Pull) -> None:
        config = connector.config
        if pull.api != KF_SYNC_MSG or not isinstance(config, WeComConfig):
            self._health.failed(connector.name, f"no pull client for {pull.api}", self._clock())
            return
        endpoint = kf_endpoint(pull.params.get("open_kfid", ""))
        try:
            client = self._clients.get(connector.name) or self._clients.setdefault(
                connector.name, self._client_for(config))
            with self._session_factory() as session:
                stored = load_cursor(connector.name, endpoint, session=session)
            sync = client.sync_kf(pull, cursor=stored.watermark if stored else None)
            now = self._clock()
            batch = events_from_kf_messages(sync.messages, config, now)
            letters = [DeadLetter(original=item.original, error=str(item.error), field=item.error.field,
                                  stage="webhook", source_topic=f"webhook:{connector.name}", failed_at=now)
                       for item in batch.invalid]
            self._sink.accept([*batch.events, *letters])
            if sync.next_cursor:
                with self._session_factory() as session, session.begin():
                    save_cursor(connector.name, endpoint, Cursor(watermark=sync.next_cursor), now, session=session)
        except (PlatformApiError, httpx.HTTPError, IntakeUnavailable, ValueError) as exc:
            reason = f"kf pull failed: {_reason(exc)}"
            log.warning("%s: %s", connector.name, reason)
            self._health.failed(connector.name, reason, self._clock())
            return
        self._health.delivered(connector.name, events=len(batch.events), skipped=len(batch.skipped), at=now)
        if letters:
            self._health.dead_lettered(connector.name, letters[-1].error, now, count=len(letters))
        if sync.has_more:
            self.submit(connector, pull)


def _reason(exc: Exception) -> str:
    """A failure's reason without URLs (WeCom's carry the secret or the access token)."""
    if isinstance(exc, PlatformApiError):
        return f"WeCom error {exc.code}: {exc.message}"
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code}"
    if isinstance(exc, httpx.HTTPError):
        return type(exc).__name__
    return str(exc)
