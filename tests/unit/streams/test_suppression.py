"""Every lane drops an erased person's records inside its own transaction (events already in flight when the
erasure ran: enriched ones on their way to the apply and alert lanes, links on their way to the identity
lane): nothing of theirs is stored, and each is counted as suppressed."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from alerts.config import AlertingConfig
from alerts.tables import EventLedgerRow
from profile_store.contracts import LinkSignal, Provenance
from profile_store.identity_graph import make_link
from profile_store.privacy import PrivacyKey, suppress
from profile_store.repository import find_profile_by_identity
from profile_store.tables import IdentityRow, ProfileEventRow
from streams.alert_batch import alert_enriched_batch
from streams.identity_service import apply_link_signals
from streams.unit_of_work import apply_enriched_batch

AT = datetime(2032, 8, 1, 9, 0, tzinfo=UTC)
KEY = PrivacyKey(b"test-suppression")


def _count(storage, table) -> int:
    with storage.session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(table)) or 0)


def test_the_apply_alert_and_identity_lanes_drop_an_erased_persons_records(storage, enrich, event_factory) -> None:
    erased = enrich(event_factory(author={"id": "gone", "followers": 50_000},
                                  text="terrible quality, broken, refund now"),
                    event_factory(author={"id": "gone"}, text="still broken"))
    kept = enrich(event_factory(author={"id": "stays"}, text="works fine"))
    with storage.session_factory.begin() as session:
        suppress(["weibo:gone"], KEY, erasure_id="e1", at=AT, session=session)

    applied = apply_enriched_batch([*erased, *kept], session_factory=storage.session_factory, analytics=None,
                                   privacy=KEY)
    alerted = alert_enriched_batch([*erased, *kept], session_factory=storage.session_factory,
                                   config=AlertingConfig(), privacy=KEY)
    link = make_link("weibo:gone", "email:gone@example.org", Provenance(source="api", actor="t"), AT)
    linked = apply_link_signals([LinkSignal(op="link", link=link, at=AT)], session_factory=storage.session_factory,
                                privacy=KEY)

    assert (applied.suppressed, alerted.suppressed, linked.suppressed) == (2, 2, 1)
    with storage.session_factory() as session:
        assert find_profile_by_identity("weibo:gone", session=session) is None
        assert find_profile_by_identity("weibo:stays", session=session) is not None
        assert session.get(IdentityRow, "email:gone@example.org") is None
    assert _count(storage, ProfileEventRow) == 1 and _count(storage, EventLedgerRow) == 1
    assert not [a for a in alerted.alerts if a.customer_id == erased[0].customer_id]


def test_a_crm_import_brings_no_erased_customer_back(storage) -> None:
    from profile_store.crm_import import parse_crm_csv
    from streams.erasure import erase
    from streams.jobs.crm_import import import_crm

    csv = "crm_id,name,weibo,consent_marketing\nC9,Nina,w9,yes\nC10,Omar,w10,yes\n"

    def run_import():
        imported = parse_crm_csv(csv.splitlines(keepends=True), source_name="crm.csv", at=AT)
        return import_crm(imported, source="crm.csv", at=AT, session_factory=storage.session_factory, privacy=KEY)

    assert run_import().suppressed == 0
    assert erase("crm:C9", storage=storage, privacy=KEY, requested_by="dpo") is not None

    again = run_import()

    assert again.suppressed >= 1
    with storage.session_factory() as session:
        assert find_profile_by_identity("crm:C9", session=session) is None
        assert find_profile_by_identity("weibo:w9", session=session) is None
        assert find_profile_by_identity("crm:C10", session=session) is not None


def test_an_account_only_its_invalid_input_names_is_erased_and_stays_out(storage) -> None:
    from enrichment.lexicon import LexiconEnricher
    from ingest.deadletter_store import count_dead_letters
    from streams.config import PipelineConfig
    from streams.erasure import erase, verify
    from streams.runtimes.embedded import EmbeddedRuntime

    runtime = EmbeddedRuntime(config=PipelineConfig(), enricher=LexiconEnricher(), storage=storage, privacy=KEY)
    runtime.publish(b'{"broken": ', b"weibo:only-bad")
    runtime.drain()
    with storage.session_factory() as session:
        assert count_dead_letters(session=session) == 1

    record = erase("weibo:only-bad", storage=storage, privacy=KEY, requested_by="dpo")

    assert record is not None and record.counts["sql.deadletters"] == 1
    runtime.publish(b'{"broken": ', b"weibo:only-bad")
    runtime.drain()
    with storage.session_factory() as session:
        assert count_dead_letters(session=session) == 0
    assert runtime.stats.suppressed == 1 and verify("weibo:only-bad", storage=storage, privacy=KEY).clean


def test_a_new_account_stating_an_erased_email_gets_no_link_to_it(storage, enrich, event_factory) -> None:
    first = enrich(event_factory(author={"id": "old-acct"}, text="hello", identity_hints={"email": "gone@example.org"}))
    outcome = apply_enriched_batch(first, session_factory=storage.session_factory, analytics=None, privacy=KEY)
    apply_link_signals(outcome.identity_signals, session_factory=storage.session_factory, privacy=KEY)
    from streams.erasure import erase

    assert erase("email:gone@example.org", storage=storage, privacy=KEY, requested_by="dpo") is not None
    later = enrich(event_factory(author={"id": "new-acct"}, text="hi again", identity_hints={"email": "gone@example.org"}))

    again = apply_enriched_batch(later, session_factory=storage.session_factory, analytics=None, privacy=KEY)
    apply_link_signals(again.identity_signals, session_factory=storage.session_factory, privacy=KEY)

    with storage.session_factory() as session:
        profile = find_profile_by_identity("weibo:new-acct", session=session)
        assert profile is not None and profile.identities == ("weibo:new-acct",)
        assert session.get(IdentityRow, "email:gone@example.org") is None
        stored = session.scalars(select(ProfileEventRow.data)).all()
    assert "gone@example.org" not in str(stored), "the erased e-mail is not stored again"
