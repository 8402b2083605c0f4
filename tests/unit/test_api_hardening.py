"""Doors that hold: body limits (declared or streamed), JSON that is not text gets a short 400, 422 never
echoes a huge input, and every response carries the security headers (CSP on the console)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from api.app import ApiServices, create_app
from api.hardening import json_problem
from enrichment.lexicon import LexiconEnricher
from streams.storage import open_storage

KEY = {"X-API-Key": "k-admin"}


@pytest.fixture
def client(sqlite_url):
    storage = open_storage(sqlite_url, None)
    app = create_app(ApiServices(session_factory=storage.session_factory, api_keys={"k-admin": "admin"},
                                 enricher=LexiconEnricher(), submit_links=lambda signals: None))
    yield TestClient(app)
    storage.close()


@pytest.mark.parametrize(("body", "problem"), [
    (b'{"text": "ok \\ud83d\\ude00"}', None),  # a surrogate pair: one emoji
    (b'{"text": "\\ud800"}', "lone surrogate"),
    (b'{"text": "\\udc00 x"}', "lone surrogate"),
    (b'{"text": "\\ud83d\\u0041"}', "lone surrogate"),
    (b'{"text": "\xff"}', "not UTF-8"),
    (b'{"text": "\\\\ud800 is only text"}', None),  # an escaped backslash, then letters
])
def test_json_problem(body: bytes, problem: str | None) -> None:
    found = json_problem(body)
    assert (found is None) if problem is None else (problem in (found or ""))


def test_a_lone_surrogate_gets_a_short_400_on_every_json_route(client) -> None:
    for path in ("/v1/enrich", "/v1/identities/links", "/v1/analytics/query"):
        response = client.post(path, content=b'{"texts": ["\\ud800"], "text": "\\ud800", "sql": "\\ud800"}',
                               headers={**KEY, "Content-Type": "application/json"})
        assert response.status_code == 400, (path, response.status_code)
        assert "lone surrogate" in response.json()["detail"]


def test_bodies_over_the_limit_are_refused_declared_or_streamed(client) -> None:
    big = b'{"texts": ["' + b"a" * (1024 * 1024 + 10) + b'"]}'
    declared = client.post("/v1/enrich", content=big, headers={**KEY, "Content-Type": "application/json"})
    assert declared.status_code == 413

    def chunks():  # no Content-Length: chunked transfer
        for _ in range(20):
            yield b"a" * 65536

    streamed = client.post("/v1/enrich", content=chunks(), headers={**KEY, "Content-Type": "application/json"})
    assert streamed.status_code == 413


def test_a_422_echoes_a_bounded_excerpt(client) -> None:
    huge = {"texts": "x" * 500_000}
    response = client.post("/v1/enrich", json=huge, headers=KEY)
    assert response.status_code == 422
    assert len(response.content) < 2_000
    assert response.json()["detail"][0]["input"].endswith("…")


def test_security_headers_and_the_console_csp(client) -> None:
    console = client.get("/")
    assert console.headers["content-security-policy"].startswith("default-src 'self'")
    assert "frame-ancestors 'none'" in console.headers["content-security-policy"]
    api = client.get("/v1/status", headers=KEY)
    assert api.headers["x-content-type-options"] == "nosniff"
    assert api.headers["referrer-policy"] == "no-referrer"
    assert "content-security-policy" not in api.headers
    assert json.loads(client.get("/healthz").content) == {"status": "ok"}
