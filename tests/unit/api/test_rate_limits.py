"""Per-key rate limits on the expensive routes: a burst, then 429 with Retry-After, refilling with time;
one key's spending never touches another's."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.app import ApiServices, create_app
from api.ratelimit import RateLimit, RateLimits, TokenBuckets
from enrichment.lexicon import LexiconEnricher


def test_a_bucket_grants_its_burst_then_refills_at_its_rate():
    now = [0.0]
    buckets = TokenBuckets(RateLimits(query=RateLimit(per_minute=6, burst=2)), clock=lambda: now[0])
    assert [buckets.take("ann", "query") for _ in range(2)] == [0.0, 0.0]
    assert buckets.take("ann", "query") == 10.0, "one token every 10 s"
    assert buckets.take("bob", "query") == 0.0, "buckets are per key"
    assert buckets.take("ann", "enrich") == 0.0, "and per route group"
    now[0] = 10.0
    assert buckets.take("ann", "query") == 0.0
    assert buckets.take("ann", "query") > 0
    now[0] = 1000.0
    assert [buckets.take("ann", "query") for _ in range(3)][:2] == [0.0, 0.0], "never more than the burst"


def test_the_enrich_route_answers_429_with_retry_after_per_key(storage):
    services = ApiServices(session_factory=storage.session_factory, api_keys={"a": "agent", "b": "agent"},
                           enricher=LexiconEnricher(), submit_links=lambda signals: None,
                           rate_limits=RateLimits(enrich=RateLimit(per_minute=1, burst=2)))
    client = TestClient(create_app(services))
    body = {"texts": ["好评"]}
    assert [client.post("/v1/enrich", json=body, headers={"X-API-Key": "a"}).status_code for _ in range(2)] == [200, 200]
    refused = client.post("/v1/enrich", json=body, headers={"X-API-Key": "a"})
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 60
    assert client.post("/v1/enrich", json=body, headers={"X-API-Key": "b"}).status_code == 200
    assert client.post("/v1/enrich", json=body).status_code == 401, "no key: 401 before any rate limit"


def test_the_openapi_document_lists_the_codes_routes_answer(storage):
    services = ApiServices(session_factory=storage.session_factory, api_keys={}, enricher=LexiconEnricher(),
                           submit_links=lambda signals: None)
    paths = TestClient(create_app(services)).get("/openapi.json").json()["paths"]
    assert {"401", "403", "429", "400", "413", "422"} <= set(paths["/v1/enrich"]["post"]["responses"])
    assert {"401", "403", "404", "409"} <= set(paths["/v1/alerts/{alert_id}/ack"]["post"]["responses"])
    assert {"400", "422", "429", "499", "502", "503"} <= set(paths["/v1/analytics/query"]["post"]["responses"])
    assert "401" not in paths["/healthz"]["get"]["responses"]
    webhook = paths["/v1/ingest/webhooks/{connector}"]
    assert webhook["get"]["operationId"] != webhook["post"]["operationId"]
