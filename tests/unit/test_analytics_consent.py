"""Analytics consent on chDB: a withdrawal of analytics consent through the API removes the person's rows
from ClickHouse (events, profile, identities) and leaves everyone else's; the writer then writes neither
their new events nor their profile. A store of its own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from analytics.client import AnalyticsClient
from api.app import ApiServices, create_app
from enrichment.lexicon import LexiconEnricher
from streams.storage import Storage
from streams.unit_of_work import apply_enriched_batch

T0 = datetime(2031, 5, 6, 9, 0, tzinfo=UTC)
KEYS = {"mk": "marketer"}


@pytest.fixture
def storage(chdb_storage: Storage) -> Storage:
    return chdb_storage


def _rows(client: AnalyticsClient, customer_id: str) -> tuple[int, int, int]:
    """(events, profile rows, identity rows) of the customer in ClickHouse."""
    counts = []
    for table in ("events", "profiles", "identity_customers"):
        _, rows = client.query(f"SELECT count() FROM {client.database}.{table} WHERE customer_id = {{c:String}}",
                               parameters={"c": customer_id})
        counts.append(int(rows[0][0]))
    return counts[0], counts[1], counts[2]


def test_withdrawing_analytics_consent_removes_the_persons_rows_and_the_writer_skips_them_after(
        storage, event_factory, enrich) -> None:
    client = storage.analytics
    assert client is not None

    def post(author: str, n: int) -> str:
        (event,) = enrich(event_factory(author={"id": author}, event_id=f"{author}-{n}", text="love it",
                                        at=T0 + timedelta(hours=n)))
        apply_enriched_batch([event], session_factory=storage.session_factory, analytics=client)
        return event.customer_id

    ann, bo = post("ann", 0), post("bo", 1)
    post("bo", 2)
    assert _rows(client, bo)[:2] == (2, 2) and _rows(client, ann)[:2] == (1, 1)

    app = create_app(ApiServices(session_factory=storage.session_factory, api_keys=KEYS, enricher=LexiconEnricher(),
                                 submit_links=lambda signals: None, analytics=client))
    with TestClient(app) as api:
        put = api.put(f"/v1/profiles/{bo}/consent", json={"analytics": False}, headers={"X-API-Key": "mk"})
    assert put.status_code == 200 and put.json()["consent"]["analytics"] is False
    assert _rows(client, bo) == (0, 0, 0), "the withdrawal removed the person from ClickHouse"
    assert _rows(client, ann)[:2] == (1, 1), "nobody else's rows"

    post("bo", 3)
    post("ann", 4)
    assert _rows(client, bo)[:2] == (0, 0), "neither the new event nor the profile was written"
    assert _rows(client, ann)[:2] == (2, 2)
