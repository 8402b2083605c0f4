"""Profile writers beside the apply lane on a real PostgreSQL: the centrality job and the CRM import read
the profiles they write under the customers' advisory locks, so an event applied while they run is never
lost and a customer merged away meanwhile is never brought back.

Each test makes the interleaving certain: the writer under test is stopped between reading profiles and
saving them, the racing transaction is started on another thread, and the writer goes on only once that
transaction has either committed (it was not locked out: its update is then overwritten) or is waiting
for a lock (it was).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, text

from enrichment.lexicon import LexiconEnricher
from ingest.codec import event_from_dict
from profile_store.contracts import LinkSignal, Provenance
from profile_store.crm_import import parse_crm_csv
from profile_store.identity_graph import make_link, new_customer_id
from profile_store.repository import centrality_of, get_profile, load_profiles
from streams import identity_service
from streams.contracts import EnrichedEvent
from streams.identity_service import apply_link_signals
from streams.jobs import centrality
from streams.jobs.centrality import recompute_centrality
from streams.steps.enrich import enrich_events
from streams.steps.identity import resolve_customer
from streams.storage import Storage, open_storage
from streams.unit_of_work import apply_enriched_batch

pytestmark = pytest.mark.integration
T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
RACE_TIMEOUT = 30.0
_WAITING = text(
    "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE a.datname = current_database() AND NOT l.granted"
)


class Racer:
    """``action`` on a thread of its own, started by ``start`` (once); ``start`` returns when the action has
    finished or a backend of this database is waiting for a lock (then ``waited``)."""

    def __init__(self, action: Callable[[], object], engine: Engine) -> None:
        self._action, self._engine = action, engine
        self._done = threading.Event()
        self._errors: list[BaseException] = []
        self._thread: threading.Thread | None = None
        self.waited = False

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run)
        self._thread.start()
        deadline = time.monotonic() + RACE_TIMEOUT
        while not self._done.is_set() and not self._someone_waits():
            assert time.monotonic() < deadline, "the racing transaction neither finished nor waited for a lock"
            self._done.wait(0.01)
        self.waited = not self._done.is_set()

    def join(self) -> None:
        assert self._thread is not None, "the writer never reached the point between its read and its write"
        self._thread.join(RACE_TIMEOUT)
        assert self._done.is_set(), "the racing transaction never finished"
        assert not self._errors, self._errors

    def _run(self) -> None:
        try:
            self._action()
        except BaseException as exc:  # reported by ``join``; a thread's exception would otherwise vanish
            self._errors.append(exc)
        finally:
            self._done.set()

    def _someone_waits(self) -> bool:
        with self._engine.connect() as connection:
            return bool(connection.execute(_WAITING).scalar_one())


def _race_after(module: Any, name: str, racer: Racer, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``module.name`` (a reading function) start ``racer`` right after its first read."""
    real = getattr(module, name)

    def read_then_race(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        racer.start()
        return result

    monkeypatch.setattr(module, name, read_then_race)


@pytest.fixture
def storage(fresh_database_url: str) -> Iterator[Storage]:
    opened = open_storage(fresh_database_url, None)
    yield opened
    opened.close()


def _event(author: str, minute: int, **extra: Any) -> dict[str, Any]:
    at = T0 + timedelta(minutes=minute)
    return {
        "event_id": f"{author}-{minute}", "platform": "weibo", "kind": extra.pop("kind", "post"),
        "occurred_at": at.isoformat(), "received_at": at.isoformat(),
        "author": {"id": author, "handle": author, "followers": 10}, "brand": "acme", "text": "hello",
        "source": "integration-test", **extra,
    }


def _enriched(*payloads: dict[str, Any]) -> list[EnrichedEvent]:
    events = [event_from_dict(p) for p in payloads]
    return enrich_events([(e, resolve_customer(e, {})) for e in events], LexiconEnricher())


def _apply(storage: Storage, events: list[EnrichedEvent]) -> None:
    apply_enriched_batch(events, session_factory=storage.session_factory, analytics=None)


def _hub_and_fans(storage: Storage) -> None:
    """``hub`` posts at minute 0; three fans reply to it, and ``a`` posts at minute 5."""
    replies = [_event(fan, n, kind="reply", parent_id="hub-0") for n, fan in enumerate("abc", start=1)]
    _apply(storage, _enriched(_event("hub", 0), *replies, _event("a", 5)))


def test_an_event_applied_while_the_centrality_job_writes_is_kept(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    _hub_and_fans(storage)
    hub = new_customer_id("weibo:hub")
    late = _enriched(_event("hub", 30, text="thanks everyone"))
    racer = Racer(lambda: _apply(storage, late), storage.engine)
    _race_after(centrality, "load_profiles", racer, monkeypatch)

    recompute_centrality(storage.session_factory)
    racer.join()

    with storage.session_factory() as session:
        profile = get_profile(hub, session=session)
        percentile = centrality_of([hub], session=session)[hub]
    assert profile is not None
    assert profile.event_count == 2, "the event applied during the job was overwritten"
    assert profile.last_seen == T0 + timedelta(minutes=30)
    assert profile.counts_by_kind == {"post": 2}
    assert "hub-30" in {item.event_id for item in profile.timeline}
    assert percentile == pytest.approx(100.0)
    assert profile.influence_components.centrality == percentile, "the job's centrality was lost"
    assert racer.waited, "the apply lane should have waited for the job's locks"


def test_a_customer_merged_away_while_the_centrality_job_writes_stays_merged(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    _hub_and_fans(storage)
    hub, fan = new_customer_id("weibo:hub"), new_customer_id("weibo:a")
    link = make_link("weibo:hub", "weibo:a", Provenance(source="reviewer", actor="race-test"), T0)
    merge = [LinkSignal(op="link", link=link, at=T0)]
    racer = Racer(lambda: apply_link_signals(merge, session_factory=storage.session_factory), storage.engine)
    _race_after(centrality, "load_profiles", racer, monkeypatch)

    recompute_centrality(storage.session_factory)
    racer.join()

    with storage.session_factory() as session:
        assert load_profiles([fan], session=session) == {}, "the merged-away profile was resurrected"
        survivor = get_profile(fan, session=session)
        percentile = centrality_of([hub], session=session)[hub]
    assert survivor is not None and survivor.customer_id == hub
    assert survivor.identities == ("weibo:a", "weibo:hub")
    assert survivor.event_count == 3, "the merged profile was overwritten by the job's stale copy"
    assert survivor.influence_components.centrality == percentile
    assert racer.waited, "the merge should have waited for the job's locks"


def test_an_event_applied_while_a_crm_import_merges_is_kept(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    _apply(storage, _enriched(_event("alice", 0), _event("bob", 1)))
    alice, bob = new_customer_id("weibo:alice"), new_customer_id("weibo:bob")
    imported = parse_crm_csv(["crm_id,handles", "C1,weibo:alice;weibo:bob"], source_name="crm.csv", at=T0)
    assert not imported.errors
    late = _enriched(_event("bob", 30, text="where is my order"))
    racer = Racer(lambda: _apply(storage, late), storage.engine)
    _race_after(identity_service, "load_profiles", racer, monkeypatch)

    apply_link_signals(imported.signals, session_factory=storage.session_factory)
    racer.join()

    with storage.session_factory() as session:
        assert load_profiles([bob], session=session) == {}, "the merged-away profile was resurrected"
        merged = get_profile(bob, session=session)
    assert merged is not None and merged.customer_id == alice
    assert merged.identities == ("crm:C1", "weibo:alice", "weibo:bob")
    assert merged.event_count == 3, "the event applied during the import was lost"
    assert merged.last_seen == T0 + timedelta(minutes=30)
    assert "bob-30" in {item.event_id for item in merged.timeline}
    assert racer.waited, "the apply lane should have waited for the import's locks"
