"""``GET /v1/export/crm``: marketers and admins stream every customer as CSV or JSON lines (what
``scrm export-crm`` writes); analysts and agents may not."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from api.app import ApiServices, create_app
from enrichment.lexicon import LexiconEnricher
from profile_store.crm_import import parse_crm_csv
from streams.jobs.crm_import import import_crm
from streams.storage import open_storage

AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
KEYS = {"mk": "marketer", "ad": "admin", "an": "analyst", "ag": "agent"}
CRM = "crm_id,name,tier,visits:integer,weibo,consent_marketing\nC1,Ann,gold,3,w1,yes\nC2,Bob,silver,,,no\n"


@pytest.fixture
def client(tmp_path):
    storage = open_storage(f"sqlite:///{tmp_path}/scrm.sqlite", None)
    imported = parse_crm_csv(CRM.splitlines(keepends=True), source_name="crm.csv", at=AT)
    import_crm(imported, source="crm.csv", at=AT, session_factory=storage.session_factory)
    app = create_app(ApiServices(session_factory=storage.session_factory, api_keys=KEYS, enricher=LexiconEnricher(),
                                 submit_links=lambda signals: None))
    with TestClient(app) as opened:
        yield opened
    storage.close()


def test_marketers_and_admins_stream_the_crm_export_as_csv_and_json_lines(client):
    exported = client.get("/v1/export/crm", headers={"X-API-Key": "mk"})
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = {r["crm_id"]: r for r in csv.DictReader(io.StringIO(exported.text))}
    assert set(rows) == {"C1", "C2"}
    assert (rows["C1"]["tier"], rows["C1"]["visits:integer"], rows["C1"]["handles"]) == ("gold", "3", "weibo:w1")
    assert rows["C2"]["consent_marketing"] == "false" and rows["C2"]["scrm_lifecycle"] == "customer"

    lines = client.get("/v1/export/crm", params={"format": "jsonl"}, headers={"X-API-Key": "ad"})
    assert lines.status_code == 200 and lines.headers["content-type"].startswith("application/x-ndjson")
    documents = [json.loads(line) for line in lines.text.splitlines()]
    assert {d["crm_id"]: d["attributes"].get("visits") for d in documents} == {"C1": 3, "C2": None}


def test_analysts_and_agents_may_not_export_and_a_bad_format_is_refused(client):
    assert client.get("/v1/export/crm", headers={"X-API-Key": "an"}).status_code == 403
    assert client.get("/v1/export/crm", headers={"X-API-Key": "ag"}).status_code == 403
    assert client.get("/v1/export/crm").status_code == 401
    assert client.get("/v1/export/crm", params={"format": "xml"}, headers={"X-API-Key": "mk"}).status_code == 422
