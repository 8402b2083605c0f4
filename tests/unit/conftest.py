"""Shared fixtures of the unit tests: valid event dicts, enriched events with chosen scores (or scored by
the lexicon enricher as the pipeline does), storage URLs and a migrated SQLite store.

Nothing here touches the network. chDB allows one data path per process, so every test that needs
analytics shares the session-scoped ``chdb_storage_dsn`` and keeps to its own event ids and brands.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from analytics.client import chdb_dsn, connect
from analytics.schema import migrate
from enrichment.contracts import Enrichment, ModelStamp, Sentiment
from enrichment.lexicon import LexiconEnricher
from ingest.codec import event_from_dict
from ingest.contracts import SocialEvent
from streams.contracts import EnrichedEvent
from streams.steps.enrich import enrich_events
from streams.steps.identity import resolve_customer
from streams.storage import Storage, open_storage

BASE_TIME = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
TEST_STAMP = ModelStamp(name="unit-test", version="1")

EventFactory = Callable[..., dict[str, Any]]

_NESTED = ("author", "metrics", "identity_hints")
_ids = itertools.count(1)


def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overrides.items():
        if key in _NESTED and isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


@pytest.fixture
def event_factory() -> EventFactory:
    """``event_factory(**overrides)`` -> a valid SocialEvent wire dict with a fresh ``event_id``.

    ``author``/``metrics``/``identity_hints`` overrides are merged into the defaults; ``at`` (a datetime)
    sets both ``occurred_at`` and ``received_at``."""

    def build(*, at: datetime | None = None, **overrides: Any) -> dict[str, Any]:
        occurred = at or BASE_TIME
        base: dict[str, Any] = {
            "event_id": f"evt-{next(_ids)}",
            "platform": "weibo",
            "kind": "post",
            "occurred_at": occurred.isoformat(),
            "received_at": (occurred + timedelta(seconds=1)).isoformat(),
            "author": {
                "id": "u-1",
                "handle": "alice",
                "display_name": "Alice",
                "followers": 10,
                "verified": False,
            },
            "brand": "acme",
            "text": "hello",
            "lang": None,
            "url": None,
            "parent_id": None,
            "thread_id": None,
            "metrics": {"likes": 0, "shares": 0, "replies": 0},
            "identity_hints": {"email": None, "phone": None, "wechat_unionid": None, "crm_id": None},
            "source": "unit-test",
            "raw": None,
        }
        return _merge(base, overrides)

    return build


def make_enrichment(
    label: str = "neutral",
    score: float = 0.0,
    confidence: float = 0.5,
    topics: tuple[str, ...] = (),
    intents: tuple[str, ...] = (),
) -> Enrichment:
    """An enrichment result with exactly the given scores."""
    return Enrichment(
        sentiment=Sentiment(label=label, score=score, confidence=confidence),  # type: ignore[arg-type]
        topics=topics,
        intents=intents,  # type: ignore[arg-type]
        language="en",
        model=TEST_STAMP,
    )


EnrichedFactory = Callable[..., EnrichedEvent]


@pytest.fixture
def enriched_factory(event_factory: EventFactory) -> EnrichedFactory:
    """``enriched_factory(label=..., score=..., confidence=..., topics=..., customer_id=..., **event)``
    -> an ``EnrichedEvent`` whose enrichment is exactly what was asked (no model involved)."""

    def build(
        *,
        label: str = "neutral",
        score: float = 0.0,
        confidence: float = 0.5,
        topics: tuple[str, ...] = (),
        intents: tuple[str, ...] = (),
        customer_id: str = "cust-1",
        **event_overrides: Any,
    ) -> EnrichedEvent:
        event: SocialEvent = event_from_dict(event_factory(**event_overrides))
        return EnrichedEvent(
            customer_id=customer_id,
            event=event,
            enrichment=make_enrichment(label, score, confidence, topics, intents),
        )

    return build


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite file database for one test."""
    return f"sqlite:///{tmp_path}/t.db"


@pytest.fixture
def storage(sqlite_url: str) -> Iterator[Storage]:
    """The durable state on a fresh, migrated SQLite file (no analytics)."""
    opened = open_storage(sqlite_url, None)
    yield opened
    opened.close()


@pytest.fixture
def enrich() -> Callable[..., list[EnrichedEvent]]:
    """``enrich(*event_dicts)`` -> enriched events, resolved and scored (lexicon) as the pipeline does."""
    enricher = LexiconEnricher()

    def run(*payloads: dict[str, Any]) -> list[EnrichedEvent]:
        events = [event_from_dict(p) for p in payloads]
        return enrich_events([(e, resolve_customer(e, {})) for e in events], enricher)

    return run


@pytest.fixture(scope="session")
def chdb_storage_dsn(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The one chDB data path of this test process (chDB cannot open a second one). Tests sharing it use
    distinct event ids and brands, and measure counts as differences or filtered by brand. It is the
    ``analytics`` store of a data dir (its parent), as ``scrm`` commands find it."""
    return chdb_dsn(tmp_path_factory.mktemp("chdb") / "analytics")


@pytest.fixture
def chdb_storage(tmp_path: Path, chdb_storage_dsn: str) -> Iterator[Storage]:
    """The durable state on a fresh SQLite file (``tmp_path/state.db``) with a ClickHouse database of its
    own on the process's chDB store (dropped afterwards)."""
    base = open_storage(f"sqlite:///{tmp_path}/state.db", None)
    client = connect(chdb_storage_dsn, f"scrm_t_{uuid.uuid4().hex[:12]}")
    migrate(client)
    yield Storage(engine=base.engine, session_factory=base.session_factory, analytics=client)
    client.command(f"DROP DATABASE IF EXISTS {client.database} SYNC")
    base.close()
    client.close()
