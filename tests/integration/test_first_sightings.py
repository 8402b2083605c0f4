"""Appliers attaching never-seen linking keys on a real PostgreSQL, concurrently: whichever transaction
registers a shared e-mail first, the other leaves its link to the identity service, and the end state is
the one the identity graph defines."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from workers import social_event

from enrichment.lexicon import LexiconEnricher
from ingest.codec import event_from_dict
from profile_store.identity_graph import new_customer_id
from profile_store.repository import find_profile_by_identity
from profile_store.tables import IdentityRow, LinkRow
from streams.contracts import EnrichedEvent
from streams.identity_service import apply_link_signals
from streams.steps.enrich import enrich_events
from streams.steps.identity import resolve_customer
from streams.storage import Storage, open_storage
from streams.unit_of_work import BatchOutcome, apply_enriched_batch

pytestmark = pytest.mark.integration
PAIRS = 60


@pytest.fixture
def storage(fresh_database_url: str) -> Iterator[Storage]:
    opened = open_storage(fresh_database_url, None)
    yield opened
    opened.close()


def _batch(platform: str, prefix: str, minutes: int) -> list[EnrichedEvent]:
    """One event per person ``n``: account ``<platform>:<prefix><n>`` stating e-mail ``p<n>@example.com``."""
    events = [
        event_from_dict(social_event(platform, f"{prefix}{n}", minutes + n, "where can I buy it?", kind="comment",
                                     identity_hints={"email": f"p{n}@example.com"}))
        for n in range(PAIRS)
    ]
    return enrich_events([(e, resolve_customer(e, {})) for e in events], LexiconEnricher())


def test_two_appliers_racing_for_the_same_new_emails_end_as_the_identity_graph_says(storage: Storage) -> None:
    """Each person has an account in each applier's batch, both naming the same never-seen e-mail. The
    batches run at once; each e-mail must be attached by exactly one of them and the other's link handed to
    the identity service, which then merges the two accounts into the customer of the first to act."""
    weibo = _batch("weibo", "w", 0)
    douyin = _batch("douyin", "d", 60 + PAIRS)
    start = threading.Barrier(2, timeout=10)
    outcomes: list[BatchOutcome] = []
    errors: list[BaseException] = []

    def apply(batch: list[EnrichedEvent]) -> None:
        try:
            start.wait()
            outcomes.append(apply_enriched_batch(batch, session_factory=storage.session_factory, analytics=None))
        except BaseException as exc:  # reported below; a thread's exception would otherwise vanish
            errors.append(exc)

    threads = [threading.Thread(target=apply, args=(batch,)) for batch in (weibo, douyin)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors

    attached = [key for outcome in outcomes for key in outcome.assignments]
    handed_over = [s for outcome in outcomes for s in outcome.identity_signals if s.op == "link"]
    assert sorted(attached) == sorted(f"email:p{n}@example.com" for n in range(PAIRS)), "each e-mail attached once"
    assert len(handed_over) == PAIRS, "and the other account's link left to the identity service"

    apply_link_signals(handed_over, session_factory=storage.session_factory)
    with storage.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(LinkRow).where(LinkRow.removed_at.is_(None))) == 2 * PAIRS
        assert session.scalar(select(func.count()).select_from(IdentityRow)) == 3 * PAIRS
        for n in range(PAIRS):
            profile = find_profile_by_identity(f"douyin:d{n}", session=session)
            assert profile is not None
            assert profile.customer_id == new_customer_id(f"weibo:w{n}"), "the account that acted first names it"
            assert set(profile.identities) == {f"weibo:w{n}", f"douyin:d{n}", f"email:p{n}@example.com"}
            assert profile.event_count == 2
