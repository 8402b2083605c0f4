"""``/v1/alerts``: agents and analysts read incidents, marketers opportunities only; only agents act;
lifecycle moves are checked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alert_builders import T0, make_post, negative
from fastapi import FastAPI
from fastapi.testclient import TestClient

from alerts.config import AlertingConfig
from alerts.pipeline import process_posts
from api.app import install_access
from api.auth import Keyring
from api.routers import alerts as alerts_router
from streams.storage import open_storage

KEYS = {"agent-key": "agent", "analyst-key": "analyst", "marketer-key": "marketer"}


@pytest.fixture
def client(sqlite_url):
    storage = open_storage(sqlite_url, None)
    with storage.session_factory() as session, session.begin():
        process_posts([negative(T0, author={"followers": 90_000}, text="refund now, total scam")], [],
                      config=AlertingConfig(), now=datetime.now(UTC), session=session)
    app = FastAPI()
    app.state.session_factory = storage.session_factory
    install_access(app, Keyring(KEYS))
    app.include_router(alerts_router.router)
    yield TestClient(app)
    storage.close()


def _h(key):
    return {"X-API-Key": key}


def test_agents_and_analysts_list_incidents_with_filters_and_evidence(client):
    (incident,) = client.get("/v1/alerts", headers=_h("analyst-key")).json()
    assert incident["rule"] == "negative_post" and incident["evidence"]["posts"][0]["text"] == "refund now, total scam"
    assert incident["alert_id"] == incident["incident_id"] and incident["suggested_reply"]["text"]
    assert client.get("/v1/alerts?kind=opportunity", headers=_h("agent-key")).json() == []
    assert client.get("/v1/alerts?severity=5", headers=_h("agent-key")).json() == []
    assert client.get(f"/v1/alerts/{incident['incident_id']}", headers=_h("agent-key")).json()["count"] == 1
    assert client.get("/v1/alerts/nope", headers=_h("agent-key")).status_code == 404


def test_marketers_read_opportunity_incidents_only_and_may_not_act(client, sqlite_url):
    storage = open_storage(sqlite_url, None)
    with storage.session_factory() as session, session.begin():
        process_posts([make_post(at=T0 + timedelta(minutes=5), text="where can I buy the acme x1?",
                                 intents=("purchase_intent",))], [],
                      config=AlertingConfig(), now=datetime.now(UTC), session=session)
    storage.close()
    everything = {i["kind"]: i["incident_id"] for i in client.get("/v1/alerts", headers=_h("agent-key")).json()}
    assert set(everything) == {"crisis", "opportunity"}
    seen = client.get("/v1/alerts", headers=_h("marketer-key")).json()
    assert [i["incident_id"] for i in seen] == [everything["opportunity"]]
    assert client.get("/v1/alerts?kind=crisis", headers=_h("marketer-key")).status_code == 403
    assert client.get(f"/v1/alerts/{everything['opportunity']}", headers=_h("marketer-key")).status_code == 200
    assert client.get(f"/v1/alerts/{everything['crisis']}", headers=_h("marketer-key")).status_code == 404
    assert client.post(f"/v1/alerts/{everything['opportunity']}/ack", headers=_h("marketer-key")).status_code == 403


def test_an_agent_acknowledges_assigns_comments_snoozes_and_resolves(client):
    incident_id = client.get("/v1/alerts", headers=_h("agent-key")).json()[0]["incident_id"]
    base = f"/v1/alerts/{incident_id}"
    assert client.post(f"{base}/ack", headers=_h("analyst-key")).status_code == 403
    acked = client.post(f"{base}/ack", json={"by": "li"}, headers=_h("agent-key")).json()
    assert (acked["state"], acked["acknowledged_by"]) == ("acknowledged", "env:agent"), \
        "who acts is the key's name, not what a body claims"
    assert client.post(f"{base}/ack", headers=_h("agent-key")).status_code == 409
    assigned = client.post(f"{base}/assign", json={"assignee": "wang", "team": "care"}, headers=_h("agent-key"))
    assert (assigned.json()["assignee"], assigned.json()["team"]) == ("wang", "care")
    commented = client.post(f"{base}/comments", json={"text": "<b>called</b>"},
                            headers=_h("agent-key"))
    assert commented.status_code == 201 and commented.json()["comments"][0]["text"] == "<b>called</b>"
    assert commented.json()["comments"][0]["author"] == "env:agent"
    until = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert client.post(f"{base}/snooze", json={"until": until}, headers=_h("agent-key")).json()["snoozed_until"]
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    assert client.post(f"{base}/snooze", json={"until": past}, headers=_h("agent-key")).status_code == 409
    resolved = client.post(f"{base}/resolve", headers=_h("agent-key")).json()
    assert resolved["state"] == "resolved" and resolved["version"] == 6
    assert client.get("/v1/alerts?state=resolved", headers=_h("agent-key")).json()[0]["incident_id"] == incident_id


def test_every_action_records_the_person_the_key_names(client):
    from api.auth import hash_key, new_key
    from profile_store.api_keys import StoredKey

    key, key_id = new_key()
    person = StoredKey(name="li.wei@acme.com", role="agent", key_id=key_id, secret_hash=hash_key(key),
                       created_at=datetime.now(UTC))
    install_access(client.app, Keyring(KEYS, lambda: [person]))
    incident_id = client.get("/v1/alerts", headers=_h(key)).json()[0]["incident_id"]
    base = f"/v1/alerts/{incident_id}"
    assert client.post(f"{base}/ack", headers=_h(key)).json()["acknowledged_by"] == "li.wei@acme.com"
    commented = client.post(f"{base}/comments", json={"text": "on it"}, headers=_h(key)).json()
    assert commented["comments"][-1]["author"] == "li.wei@acme.com"
    resolved = client.post(f"{base}/resolve", headers=_h(key)).json()
    assert resolved["resolved_by"] == "li.wei@acme.com"


def test_a_digest_lists_every_post_behind_it_page_by_page(client, sqlite_url):
    storage = open_storage(sqlite_url, None)
    buyers = [make_post(at=T0 + timedelta(minutes=i), text=f"想买 x{i}，哪里有货？", intents=("purchase_intent",))
              for i in range(23)]
    with storage.session_factory() as session, session.begin():
        process_posts(buyers, [], config=AlertingConfig(), now=datetime.now(UTC), session=session)
    storage.close()
    (digest,) = [i for i in client.get("/v1/alerts", headers=_h("marketer-key")).json()
                 if i["dedup_key"].startswith("digest:")]
    assert digest["count"] == 23 and len(digest["evidence"]["posts"]) == 10, "the card holds the latest ten"
    url = f"/v1/alerts/{digest['incident_id']}/posts"
    first = client.get(url, params={"limit": 20}, headers=_h("marketer-key")).json()
    rest = client.get(url, params={"limit": 20, "before": first["next"]}, headers=_h("marketer-key")).json()
    texts = [p["text"] for p in first["items"] + rest["items"]]
    assert texts == [f"想买 x{i}，哪里有货？" for i in reversed(range(23))], "every post once, newest first"
    assert len(first["items"]) == 20 and first["next"] and rest["next"] is None
    assert {p["rule"] for p in first["items"]} == {"purchase_intent"} and first["items"][0]["author"]
    assert client.get(url, params={"before": "not-a-cursor"}, headers=_h("agent-key")).status_code == 400
    assert client.get("/v1/alerts/nope/posts", headers=_h("agent-key")).status_code == 404
    crisis = next(i for i in client.get("/v1/alerts", headers=_h("agent-key")).json() if i["kind"] == "crisis")
    assert client.get(f"/v1/alerts/{crisis['incident_id']}/posts", headers=_h("marketer-key")).status_code == 404
