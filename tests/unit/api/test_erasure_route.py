"""``DELETE /v1/customers/{id}`` (admin only) erases a customer through the embedded runtime and
``GET /v1/customers/{id}/erasure`` shows nothing is left; other roles get 403, an unknown id 404, a process
without erasure 503."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from api.app import ApiServices, create_app
from enrichment.lexicon import LexiconEnricher
from profile_store.repository import find_profile_by_identity
from scrm.erasing import embedded_erasure
from streams.config import PipelineConfig
from streams.runtimes.embedded import EmbeddedRuntime
from streams.storage import open_storage

KEYS = {"ad": "admin", "ag": "agent", "mk": "marketer"}


@pytest.fixture
def platform(tmp_path, event_factory):
    storage = open_storage(f"sqlite:///{tmp_path}/scrm.sqlite", None)
    runtime = EmbeddedRuntime(config=PipelineConfig(), enricher=LexiconEnricher(), storage=storage)
    for author in ("gone", "kept"):
        runtime.publish(json.dumps(event_factory(author={"id": f"route-{author}", "handle": f"h{author}"},
                                                 text=f"post by {author}")).encode(), f"weibo:route-{author}".encode())
    runtime.drain()
    erase, verify = embedded_erasure(runtime, storage)
    services = ApiServices(session_factory=storage.session_factory, api_keys=KEYS, enricher=LexiconEnricher(),
                           submit_links=lambda signals: None, erase=erase, verify_erasure=verify)
    with TestClient(create_app(services)) as client:
        yield client, storage
    storage.close()


def test_an_admin_erases_a_customer_and_the_check_finds_nothing_left(platform) -> None:
    client, storage = platform
    with storage.session_factory() as session:
        customer = find_profile_by_identity("weibo:route-gone", session=session).customer_id

    assert client.delete(f"/v1/customers/{customer}", headers={"X-API-Key": "ag"}).status_code == 403
    assert client.delete(f"/v1/customers/{customer}", headers={"X-API-Key": "mk"}).status_code == 403
    erased = client.delete(f"/v1/customers/{customer}", params={"reason": "art. 17 request"},
                           headers={"X-API-Key": "ad"})

    assert erased.status_code == 200
    body = erased.json()
    assert body["requested_by"] and body["reason"] == "art. 17 request" and body["counts"]["sql.profiles"] == 1
    check = client.get("/v1/customers/weibo:route-gone/erasure", headers={"X-API-Key": "ad"}).json()
    assert check["clean"] and check["listed"] and [e["erasure_id"] for e in check["erasures"]] == []
    by_id = client.get(f"/v1/customers/{customer}/erasure", headers={"X-API-Key": "ad"}).json()
    assert by_id["clean"] and [e["erasure_id"] for e in by_id["erasures"]] == [body["erasure_id"]]
    with storage.session_factory() as session:
        assert find_profile_by_identity("weibo:route-gone", session=session) is None
        assert find_profile_by_identity("weibo:route-kept", session=session) is not None
    kept = client.get("/v1/customers/weibo:route-kept/erasure", headers={"X-API-Key": "ad"}).json()
    assert not kept["clean"] and not kept["listed"] and kept["traces"]["sql.profile_events"] == 1


def test_an_unknown_customer_is_404_and_a_process_without_erasure_answers_503(platform, tmp_path) -> None:
    client, storage = platform
    assert client.delete("/v1/customers/weibo:nobody", headers={"X-API-Key": "ad"}).status_code == 404
    bare = create_app(ApiServices(session_factory=storage.session_factory, api_keys=KEYS, enricher=LexiconEnricher(),
                                  submit_links=lambda signals: None))
    with TestClient(bare) as other:
        assert other.delete("/v1/customers/weibo:route-kept", headers={"X-API-Key": "ad"}).status_code == 503
