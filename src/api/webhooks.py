"""The webhook receivers' logic (the routes in ``api.routers.webhooks`` are its thin HTTP shell).

For one request to ``/v1/ingest/webhooks/<connector>``: the connector's adapter verifies and reads it;
- ``SignatureRejected``: answered with its status (401/403), nothing stored, counted;
- ``InvalidEvent`` (signed but unreadable): a dead letter with the exact body, the adapter's chosen
  headers (never secrets) and the reason goes into the intake sink, and the adapter's dead-letter reply is
  answered (200 for every platform here, so the platform does not retry it for hours);
- otherwise the events go into the intake sink, and only once they are durable is the adapter's reply
  answered; what the delivery announces for fetching (``Delivery.pulls``) goes to the puller, off the
  request path.
If the sink cannot make the records durable (``IntakeUnavailable``) the answer is 503 and the platform
retries; its retry carries the same event ids, so whatever did get through counts once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from api.connector_health import ConnectorHealth
from ingest.adapters.base import Pull, SignatureRejected, WebhookReply, WebhookRequest
from ingest.connectors import AnyConnector, Connector
from ingest.contracts import SocialEvent
from ingest.deadletter import DeadLetter
from ingest.exceptions import IntakeUnavailable, InvalidEvent
from ingest.sink import IntakeSink

UNAVAILABLE = WebhookReply(status=503, body=b"intake unavailable, retry later")


class PullQueue(Protocol):
    """Where announced pulls go (``api.pulls.KfPuller``)."""

    def submit(self, connector: Connector, pull: Pull) -> None: ...


def webhook_source(connector: str) -> str:
    """The ``source_topic`` of a dead letter from a connector's receiver (not a topic: not replayable)."""
    return f"webhook:{connector}"


@dataclass(frozen=True)
class Receivers:
    """The configured connectors (webhook and poll: ``GET /v1/connectors`` lists both; only webhook ones
    receive) and where their deliveries go. ``sink`` ``None`` answers 503."""

    connectors: Mapping[str, AnyConnector]
    sink: IntakeSink | None
    health: ConnectorHealth
    pulls: PullQueue | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def receive(self, connector: Connector, request: WebhookRequest) -> WebhookReply:
        """Verify, read, make durable, answer. Blocks on the sink; never raises for the request's content."""
        name = connector.name
        try:
            delivery = connector.handle(request)
        except SignatureRejected as exc:
            self.health.signature_failed(name, exc.reason, self.clock())
            return WebhookReply(status=exc.status, body=exc.reason.encode())
        except InvalidEvent as exc:
            adapter = connector.adapter
            headers = {h: request.headers[h] for h in adapter.dead_letter_headers if h in request.headers}
            letter = DeadLetter(original=request.body, error=str(exc), field=exc.field, stage="webhook",
                                source_topic=webhook_source(name), failed_at=request.received_at,
                                headers=headers or None)
            if not self._accept(name, [letter]):
                return UNAVAILABLE
            self.health.dead_lettered(name, str(exc), self.clock())
            return adapter.dead_letter_reply
        if delivery.events and not self._accept(name, list(delivery.events)):
            return UNAVAILABLE
        for pull in delivery.pulls:
            if self.pulls is None:
                self.health.failed(name, f"no pull client for {pull.api} in this process", self.clock())
            else:
                self.pulls.submit(connector, pull)
        self.health.delivered(name, events=len(delivery.events), skipped=len(delivery.skipped), at=self.clock())
        return delivery.reply

    def _accept(self, name: str, records: Sequence[SocialEvent | DeadLetter]) -> bool:
        if self.sink is None:
            self.health.failed(name, "intake unavailable: this process has no intake configured", self.clock())
            return False
        try:
            self.sink.accept(records)
        except IntakeUnavailable as exc:
            self.health.failed(name, f"intake unavailable: {exc}", self.clock())
            return False
        return True
