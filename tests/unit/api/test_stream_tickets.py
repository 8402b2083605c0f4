"""No API key in a URL: a query-string key is refused even when valid; the browser's live stream opens with
a one-minute signed ticket, good for that one path only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from api.app import ApiServices, create_app
from api.tickets import STREAM_SCOPE, StreamTickets, ticket_secret
from enrichment.lexicon import LexiconEnricher

KEYS = {"agent-key": "agent", "ingest-key": "ingest"}
T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def client(storage):
    services = ApiServices(session_factory=storage.session_factory, api_keys=KEYS, enricher=LexiconEnricher(),
                           submit_links=lambda signals: None)
    with TestClient(create_app(services)) as opened:
        yield opened


def test_a_key_in_the_query_string_is_refused_even_when_it_is_valid(client):
    assert client.get("/v1/alerts", headers={"X-API-Key": "agent-key"}).status_code == 200
    refused = client.get("/v1/alerts", params={"api_key": "agent-key"})
    assert refused.status_code == 401 and "header" in refused.json()["detail"]


def test_a_ticket_is_issued_to_a_key_and_opens_only_the_stream(client):
    assert client.post("/v1/alerts/stream/ticket").status_code == 401
    assert client.post("/v1/alerts/stream/ticket", headers={"X-API-Key": "ingest-key"}).status_code == 403
    answer = client.post("/v1/alerts/stream/ticket", headers={"X-API-Key": "agent-key"})
    assert answer.status_code == 200 and answer.json()["expires_in"] == 60
    ticket = answer.json()["ticket"]
    assert "agent-key" not in ticket
    assert client.get("/v1/alerts", params={"ticket": ticket}).status_code == 401, "a ticket opens the stream only"
    assert client.app.state.stream_tickets.name_of(ticket, STREAM_SCOPE) == "env:agent"


def test_tickets_expire_cannot_be_forged_and_outlive_no_key_change():
    now = [T0]
    tickets = StreamTickets(ticket_secret(None, KEYS), clock=lambda: now[0])
    ticket = tickets.issue("ann@acme")
    assert tickets.name_of(ticket, STREAM_SCOPE) == "ann@acme"
    assert StreamTickets(ticket_secret(None, dict(KEYS)), clock=lambda: now[0]).name_of(ticket, STREAM_SCOPE) \
        == "ann@acme", "another API process with the same keys accepts it"
    assert StreamTickets(ticket_secret("shared", {}), clock=lambda: now[0]).name_of(ticket, STREAM_SCOPE) is None
    expiry, _, signature = ticket.split(".")
    assert tickets.name_of(f"{expiry}.ZW52OmFkbWlu.{signature}", STREAM_SCOPE) is None, "env:admin, forged"
    assert tickets.name_of(ticket, "/v1/alerts") is None
    assert StreamTickets(ticket_secret(None, {"other": "agent"}), clock=lambda: now[0]).name_of(ticket, STREAM_SCOPE) is None
    now[0] = T0 + timedelta(seconds=61)
    assert tickets.name_of(ticket, STREAM_SCOPE) is None
    for junk in ("", "x", "1.2", "a.b.c", "9999999999.agent.", "9999999999.%%%.x"):
        assert tickets.name_of(junk, STREAM_SCOPE) is None
