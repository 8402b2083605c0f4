"""The identity and profile routes over a real SQLite store and the embedded runtime."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from api.app import ApiServices, create_app
from enrichment.lexicon import LexiconEnricher
from streams.jobs.suggestions import refresh_suggestions
from streams.runtimes.embedded import EmbeddedRuntime
from streams.storage import Storage

AGENT = {"X-API-Key": "agent-key"}
MARKETER = {"X-API-Key": "marketer-key"}


@pytest.fixture
def runtime(runtime: EmbeddedRuntime) -> EmbeddedRuntime:
    """The shared runtime, seeded with three authors (two of them probably the same person)."""
    start = datetime(2026, 11, 1, tzinfo=UTC)
    for n, (platform, author, handle, name) in enumerate(
        [("weibo", "1", "liming88", "李明 Li Ming"), ("douyin", "2", "LiMing88", "Li Ming"), ("x", "3", "zw", "Zhang Wei")]
    ):
        at = (start + timedelta(hours=n)).isoformat()
        runtime.publish(json.dumps({
            "event_id": f"e{n}", "platform": platform, "kind": "post", "occurred_at": at, "received_at": at,
            "author": {"id": author, "handle": handle, "display_name": name, "followers": 10},
            "text": "不错", "source": "t",
        }).encode())
    runtime.drain()
    return runtime


@pytest.fixture
def client(storage: Storage, runtime: EmbeddedRuntime) -> TestClient:
    services = ApiServices(
        session_factory=storage.session_factory,
        api_keys={"agent-key": "agent", "marketer-key": "marketer"},
        enricher=LexiconEnricher(),
        submit_links=runtime.submit_links,
        runtime_name="embedded",
    )
    return TestClient(create_app(services))


def _customer(client: TestClient, identity: str) -> dict[str, object]:
    found = client.get("/v1/profiles", params={"identity": identity}, headers=AGENT).json()
    assert len(found) == 1
    return found[0]


def test_linking_through_the_api_merges_and_records_provenance(client: TestClient, runtime: EmbeddedRuntime) -> None:
    response = client.post("/v1/identities/links", json={"a": "weibo:1", "b": "DOUYIN:2", "reference": "ticket 7"},
                           headers=AGENT)
    assert response.status_code == 202
    runtime.drain()
    merged = _customer(client, "douyin:2")
    assert merged == _customer(client, "weibo:1")
    history = client.get(f"/v1/profiles/{merged['customer_id']}/merges", headers=AGENT).json()
    assert history[0]["kind"] == "merge"
    assert history[0]["provenance"] == {"source": "api", "actor": "api:env:agent", "reference": "ticket 7"}

    link_id = response.json()["link_id"]
    assert client.delete(f"/v1/identities/links/{link_id}", headers=AGENT).status_code == 202
    runtime.drain()
    assert _customer(client, "weibo:1")["customer_id"] != _customer(client, "douyin:2")["customer_id"]
    assert client.delete(f"/v1/identities/links/{link_id}", headers=AGENT).status_code == 404


def test_bad_identity_keys_and_missing_roles_are_refused(client: TestClient) -> None:
    assert client.post("/v1/identities/links", json={"a": "weibo:1", "b": "nope"}, headers=AGENT).status_code == 400
    assert client.post("/v1/identities/links", json={"a": "weibo:1", "b": "x:3"}, headers=MARKETER).status_code == 403
    assert client.post("/v1/identities/links", json={"a": "weibo:1", "b": "x:3"}).status_code == 401
    assert client.get("/healthz").status_code == 200


def test_a_suggestion_is_reviewed_never_merged_on_its_own(
    client: TestClient, storage: Storage, runtime: EmbeddedRuntime
) -> None:
    suggestions, auto = refresh_suggestions(storage.session_factory, min_score=0.5)
    assert auto == []
    pending = client.get("/v1/identities/suggestions", headers=AGENT).json()
    assert [(s["a"], s["b"]) for s in pending] == [("douyin:2", "weibo:1")]
    assert pending[0]["evidence"]["same_handle"] is True
    assert _customer(client, "weibo:1")["customer_id"] != _customer(client, "douyin:2")["customer_id"]

    accepted = client.post(f"/v1/identities/suggestions/{pending[0]['suggestion_id']}/accept", headers=AGENT)
    assert accepted.status_code == 202
    runtime.drain()
    assert _customer(client, "weibo:1")["customer_id"] == _customer(client, "douyin:2")["customer_id"]
    again = client.post(f"/v1/identities/suggestions/{pending[0]['suggestion_id']}/reject", headers=AGENT)
    assert again.status_code == 409
    assert client.get("/v1/identities/suggestions", headers=AGENT).json() == []


def test_profiles_are_found_by_name_without_wildcard_injection(client: TestClient) -> None:
    assert [p["display_name"] for p in client.get("/v1/profiles", params={"q": "zhang"}, headers=MARKETER).json()] == [
        "Zhang Wei"
    ]
    assert client.get("/v1/profiles", params={"q": "%"}, headers=MARKETER).json() == []
    assert client.get("/v1/profiles/no-such-id", headers=MARKETER).status_code == 404
