"""``/v1/segments``: marketers save rules (JSON or text) recorded under their key's name, preview counts,
page through members with a total, export CSV; analysts read; agents may not; bad rules get every reason."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient
from segment_cases import EVENTS, PROFILES, store

from api.app import ApiServices, create_app
from enrichment.lexicon import LexiconEnricher
from streams.storage import open_storage

KEYS = {"mk": "marketer", "an": "analyst", "ag": "agent"}
MK, AN, AG = ({"X-API-Key": k} for k in KEYS)


@pytest.fixture
def client(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path}/scrm.sqlite", None)
    with storage.session_factory.begin() as session:
        store(session, PROFILES, EVENTS)
    app = create_app(ApiServices(session_factory=storage.session_factory, api_keys=KEYS, enricher=LexiconEnricher(),
                                 submit_links=lambda signals: None))
    with TestClient(app) as opened:
        yield opened
    storage.close()


def test_a_marketer_saves_previews_pages_and_exports(client):
    text = {"text": "lifecycle in (fan, advocate, detractor)"}
    assert client.post("/v1/segments/preview", json=text, headers=AN).json() == {"members": 3}
    created = client.post("/v1/segments", json={"name": "all-known", **text}, headers=MK)
    assert created.status_code == 201
    assert (created.json()["members"], created.json()["created_by"]) == (3, "env:marketer")
    assert client.post("/v1/segments", json={"name": "all-known", **text}, headers=MK).status_code == 409
    assert client.post("/v1/segments", json={"name": "x", **text}, headers=AG).status_code == 403
    assert client.post("/v1/segments", json={"name": "x", **text}, headers=AN).status_code == 403

    first = client.get("/v1/segments/all-known/members", params={"limit": 2}, headers=AN).json()
    assert first["total"] == 3 and [m["customer_id"] for m in first["members"]] == ["ann", "bo"]
    rest = client.get("/v1/segments/all-known/members", params={"limit": 2, "after": first["next"]}, headers=AN).json()
    assert [m["customer_id"] for m in rest["members"]] == ["cy"] and rest["next"] is None

    exported = client.get("/v1/segments/all-known/members.csv", headers=MK)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["customer_id"] for r in rows] == ["ann", "bo", "cy"] and rows[0]["display_name"] == "Ann 小红"
    page = client.get("/v1/segments/all-known/history", params={"limit": 2}, headers=AN).json()
    assert [c["change"] for c in page["changes"]] == ["enter"] * 2 and page["next"] is not None
    page = client.get("/v1/segments/all-known/history", params={"after": page["next"]}, headers=AN).json()
    assert [c["change"] for c in page["changes"]] == ["enter"] and page["next"] is None
    catalog = client.get("/v1/segments/fields", headers=AN).json()
    lifecycle = next(f for f in catalog["fields"] if f["name"] == "lifecycle")
    assert lifecycle["ops"] == ["eq", "ne", "in", "not_in"] and "advocate" in lifecycle["choices"]
    assert [f["name"] for f in catalog["families"]] == ["crm.attribute", "consent.attribute"]
    assert "purchase_intent" not in (catalog["event_filters"]["kind"] or []) and "comment" in catalog["event_filters"]["kind"]
    (point,) = client.get("/v1/segments/all-known/counts", headers=AN).json()
    assert (point["members"], point["entered"], point["left"]) == (3, 3, 0)
    assert [s["name"] for s in client.get("/v1/segments", headers=AN).json()] == ["all-known"]
    assert client.delete("/v1/segments/all-known", headers=MK).status_code == 204
    assert client.get("/v1/segments/all-known", headers=AN).status_code == 404


def test_bad_rules_get_every_reason_and_injections_stay_values(client):
    bad = client.post("/v1/segments", json={"name": "typo", "rule": {"all": [
        {"field": "lifecyle", "op": "eq", "value": "fan"}, {"field": "platforms", "op": "gt", "value": 1}]}}, headers=MK)
    assert bad.status_code == 400
    assert "unknown field 'lifecyle'" in bad.json()["detail"] and "'gt'" in bad.json()["detail"]
    assert client.post("/v1/segments", json={"name": "both", "rule": {}, "text": "x"}, headers=MK).status_code == 400
    assert client.post("/v1/segments", json={"name": "Bad Name!", "text": "lifecycle = fan"}, headers=MK).status_code == 422
    injected = {"field": "display_name", "op": "eq", "value": "x'); DROP TABLE profiles; --"}
    assert client.post("/v1/segments/preview", json={"rule": injected}, headers=MK).json() == {"members": 0}
    assert client.post("/v1/segments/preview", json={"text": "lifecycle in (fan)"}, headers=MK).json() == {"members": 1}
