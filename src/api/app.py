"""The FastAPI application factory. Services are built by the entry point and handed in."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry
from sqlalchemy.orm import Session, sessionmaker

from analytics.analyst import AnalystDoor
from analytics.client import AnalyticsClient
from api.auth import Keyring, Role
from api.connector_health import ConnectorHealth
from api.hardening import RequestGuard, SecurityHeaders, bounded_validation_error
from api.openapi import document_statuses
from api.ratelimit import RateLimits, TokenBuckets
from api.routers import (
    alerts,
    analytics,
    connectors,
    consent,
    console,
    customers,
    deadletters,
    enrich,
    exports,
    health,
    identities,
    ingest,
    next_actions,
    profiles,
    segments,
    webhooks,
)
from api.tickets import StreamTickets, ticket_secret
from api.webhooks import PullQueue, Receivers
from enrichment.protocols import Enricher
from ingest.connectors import AnyConnector
from ingest.sink import IntakeSink
from profile_store.contracts import ErasureRecord, LinkSignal

CONSOLE_DIR = Path(__file__).parent / "console"
BODY_LIMITS = {"/v1/ingest/events": 16 * 1024 * 1024}
"""Routes allowed more than the default 1 MiB body (``api.hardening``): batches of events."""


@dataclass(frozen=True)
class ApiServices:
    """What routes may use. ``submit_links`` hands link / unlink signals to the identity service;
    ``pipeline_stats`` reports the in-process runtime when there is one, and ``pipeline_failure`` why it
    stopped (``None`` while it runs); ``analyst_door`` runs analysts' SQL on clients of its own (never
    ``analytics``, which the pipeline may share). ``intake`` makes what the webhook receivers
    (``connectors``) and the generic ingest route accept durable (without it they answer 503); ``pulls``
    takes the pulls push connectors announce; ``connector_health`` counts what each receiver saw; ``clock``
    stamps what they receive."""

    session_factory: sessionmaker[Session]
    api_keys: Mapping[str, Role]
    """Bootstrap keys (``SCRM_API_KEYS``): hashed into the keyring when none is given, and never kept."""
    enricher: Enricher
    submit_links: Callable[[Sequence[LinkSignal]], None]
    analytics: AnalyticsClient | None = None
    analyst_door: AnalystDoor | None = None
    pipeline_stats: Callable[[], Mapping[str, Any] | None] | None = None
    pipeline_failure: Callable[[], str | None] | None = None
    runtime_name: str = "kafka"
    readiness: Callable[[], Sequence[str]] | None = None
    """What keeps this process from doing its work (database away, a lane stalled): empty when ready."""
    metrics: CollectorRegistry | None = None
    """The process's Prometheus metrics (lanes, receivers); ``/metrics`` serves them."""
    intake: IntakeSink | None = None
    connectors: Mapping[str, AnyConnector] = field(default_factory=dict)
    pulls: PullQueue | None = None
    connector_health: ConnectorHealth = field(default_factory=ConnectorHealth)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    keyring: Keyring | None = None
    """Who may call (``api.auth``); ``None``: only the bootstrap ``api_keys``."""
    ticket_secret: str | None = None
    rate_limits: RateLimits = RateLimits()
    """Per-key allowances of the expensive routes (``api.ratelimit``)."""
    erase: Callable[[str, str, str | None], ErasureRecord | None] | None = None
    """Erases a person (subject, requested by, reason; ``streams.erasure.erase`` as the runtime runs it):
    ``DELETE /v1/customers/{id}``; ``None``: that route answers 503."""
    verify_erasure: Callable[[str], tuple[bool, dict[str, int], list[ErasureRecord]]] | None = None
    """Whether a subject is listed, what traces of it are left per store, and its erasures."""
    """Signs stream tickets (``api.tickets``); the same on every API process behind one address."""


def install_access(app: FastAPI, keyring: Keyring, *, rate_limits: RateLimits | None = None,
                   tickets: StreamTickets | None = None) -> None:
    """Give ``app`` who may call it (``api.deps``), the per-key rate limits and the stream tickets (random
    secret when not given): what ``create_app`` does, for apps built from a few routers."""
    app.state.keyring = keyring
    app.state.rate_limits = TokenBuckets(rate_limits or RateLimits())
    app.state.stream_tickets = tickets or StreamTickets(ticket_secret(None, {}))


def create_app(services: ApiServices) -> FastAPI:
    """A new app serving the JSON API under ``/v1`` and the console at ``/``."""
    app = FastAPI(
        title="sCRM API",
        version="0.1.0",
        description="Profiles, alerts, analytics and enrichment of the Social CRM streaming platform. "
        "Every route but /healthz and the webhook receivers (signed by the platforms) needs an API key "
        "(X-API-Key header or Bearer token).",
    )
    app.state.session_factory = services.session_factory
    install_access(app, services.keyring or Keyring(services.api_keys), rate_limits=services.rate_limits,
                   tickets=StreamTickets(ticket_secret(services.ticket_secret, services.api_keys)))
    app.state.enricher = services.enricher
    app.state.submit_links = services.submit_links
    app.state.analytics = services.analytics
    app.state.analyst_door = services.analyst_door
    app.state.pipeline_stats = services.pipeline_stats
    app.state.pipeline_failure = services.pipeline_failure
    app.state.runtime_name = services.runtime_name
    app.state.readiness = services.readiness
    app.state.metrics = services.metrics
    app.state.erase = services.erase
    app.state.verify_erasure = services.verify_erasure
    app.state.receivers = Receivers(connectors=dict(services.connectors), sink=services.intake,
                                    health=services.connector_health, pulls=services.pulls, clock=services.clock)
    for module in (health, profiles, consent, customers, identities, segments, exports, next_actions, alerts, analytics, deadletters,
                   enrich, ingest, webhooks, connectors, console):
        app.include_router(module.router)
    document_statuses(app)
    app.mount("/static", StaticFiles(directory=CONSOLE_DIR), name="static")
    app.add_exception_handler(RequestValidationError, bounded_validation_error)
    app.add_middleware(RequestGuard, limits=BODY_LIMITS)
    app.add_middleware(SecurityHeaders)
    return app
