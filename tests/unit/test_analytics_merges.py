"""After identity merges and splits, every ClickHouse read counts an event for its author's current
customer: the identity lane records identities, redirects and profiles in ClickHouse as it merges, and
``events_current`` (with the influencer leaderboard) rewrites the stored customer id at read time. On chDB
with the real apply and identity transactions over SQLite."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from analytics.client import AnalyticsClient
from analytics.rollups import Filters, influencers
from profile_store.contracts import LinkSignal
from profile_store.identity_graph import new_customer_id
from streams.identity_service import apply_link_signals
from streams.storage import Storage, open_storage
from streams.unit_of_work import apply_enriched_batch

T0 = datetime(2026, 7, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def storage(sqlite_url: str, chdb_storage_dsn: str) -> Iterator[Storage]:
    opened = open_storage(sqlite_url, chdb_storage_dsn)
    yield opened
    opened.close()


def _customers(client: AnalyticsClient, brand: str) -> dict[str, int]:
    _, rows = client.query(f"SELECT customer_id, count() FROM {client.database}.events_current "
                           "WHERE brand = {b:String} GROUP BY customer_id", parameters={"b": brand})
    return dict(rows)


def _live_profiles(client: AnalyticsClient, ids: set[str]) -> dict[str, int]:
    _, rows = client.query(f"SELECT customer_id, event_count FROM {client.database}.profiles FINAL "
                           "WHERE customer_id IN {ids:Array(String)}", parameters={"ids": sorted(ids)})
    return dict(rows)


def test_an_event_counts_for_the_surviving_customer_after_a_merge_and_for_its_own_after_the_unmerge(
    storage, event_factory, enrich
):
    client = storage.analytics
    assert client is not None
    tag = uuid.uuid4().hex[:8]
    brand, phone = f"merge-{tag}", f"1390{int(tag, 16) % 10_000_000:07d}"
    weibo, douyin = f"wb-{tag}", f"dy-{tag}"
    first = enrich(event_factory(author={"id": weibo}, brand=brand, text="love it", identity_hints={"phone": phone},
                                 at=T0))
    second = enrich(event_factory(platform="douyin", author={"id": douyin, "followers": 5000}, brand=brand,
                                  text="broken again", identity_hints={"phone": phone}, at=T0 + timedelta(hours=1)))
    apply_enriched_batch(first, session_factory=storage.session_factory, analytics=client)
    signals = apply_enriched_batch(second, session_factory=storage.session_factory, analytics=client).identity_signals
    survivor, absorbed = first[0].customer_id, new_customer_id(f"douyin:{douyin}")
    assert _customers(client, brand) == {survivor: 1, absorbed: 1}

    apply_link_signals(signals, session_factory=storage.session_factory, analytics=client)

    assert _customers(client, brand) == {survivor: 2}
    assert _live_profiles(client, {survivor, absorbed}) == {survivor: 2}
    (leader,) = influencers(client, Filters(brand=brand))
    assert (leader["customer_id"], leader["events"], leader["followers"]) == (survivor, 2, 5000)
    assert leader["accounts"] == [f"douyin:{douyin}", f"weibo:{weibo}"]
    # written while merged: stamped with the survivor's id, but the douyin account's own event
    during = enrich(event_factory(platform="douyin", author={"id": douyin}, brand=brand, text="still broken",
                                  at=T0 + timedelta(hours=2)))
    apply_enriched_batch(during, session_factory=storage.session_factory, analytics=client)
    assert _customers(client, brand) == {survivor: 3}

    (link,) = [s.link for s in signals if s.link is not None and s.link.a.startswith("douyin:")
               or s.link is not None and s.link.b.startswith("douyin:")]
    unlink = LinkSignal(op="unlink", link_id=link.link_id, requested_by="reviewer", at=T0 + timedelta(hours=3))
    apply_link_signals([unlink], session_factory=storage.session_factory, analytics=client)

    assert _customers(client, brand) == {survivor: 1, absorbed: 2}
    assert _live_profiles(client, {survivor, absorbed}) == {survivor: 1, absorbed: 2}
    assert {b["customer_id"]: b["events"] for b in influencers(client, Filters(brand=brand))} == \
        {survivor: 1, absorbed: 2}
