"""CRM records on the embedded runtime with a real SQLite store: the import puts the CRM's attributes on
profiles (and segments see them), CRM-only customers get profiles, lifecycle follows CRM facts, the records
survive merges, splits and refolds, re-imports change only attributes, and the export carries it all back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from identity.test_merge_and_unmerge import event, profile_of
from profile_store.contracts import LinkSignal
from profile_store.crm_export import attribute_headers, iter_export_rows, render_csv, render_jsonl
from profile_store.crm_import import parse_crm_csv, parse_crm_jsonl
from profile_store.identity_repository import links_of_customer
from profile_store.repository import find_profile_by_identity
from profile_store.segments import parse_rule
from profile_store.segments.membership import segment_history
from profile_store.segments.store import count_members, create_segment
from streams.jobs.crm_import import CrmImportResult, import_crm
from streams.runtimes.embedded import EmbeddedRuntime
from streams.storage import Storage

AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
CRM = (
    "crm_id,name,tier,lifetime_value,owner,tags,consent_marketing,consent_contact,weibo,douyin,loyalty_member,region\n"
    "C1001,Li Ming,gold,1200.5,sales-1,vip;beta,yes,true,w1,,,east\n"
    "C1002,Bob Wang,silver,300,sales-2,,no,true,,,,west\n"
    "C1003,Cat Chen,bronze,80,,,,,,d1,yes,\n"
)


def _import(storage: Storage, text: str = CRM, *, at: datetime = AT) -> CrmImportResult:
    imported = parse_crm_csv(text.splitlines(keepends=True), source_name="crm.csv", at=at)
    assert imported.errors == ()
    return import_crm(imported, source="crm.csv", at=at, session_factory=storage.session_factory)


def _publish(runtime: EmbeddedRuntime) -> None:
    runtime.publish(event("weibo", "w1", 1, "这个手机怎么样？"))
    runtime.publish(event("douyin", "d1", 2, "not bad"))
    runtime.drain()


def test_the_import_keeps_attributes_creates_crm_only_profiles_and_lifts_lifecycle(runtime, storage) -> None:
    _publish(runtime)
    assert profile_of(storage, "weibo:w1").lifecycle == "prospect"
    result = _import(storage)
    assert (result.records_changed, result.profiles_created) == (3, 1)

    linked = profile_of(storage, "crm:C1001")
    assert linked == profile_of(storage, "weibo:w1"), "the CRM id joined the social account's customer"
    assert linked.crm_id == "C1001" and linked.lifecycle == "customer" and linked.event_count == 1
    assert linked.crm == {"name": "Li Ming", "tier": "gold", "lifetime_value": 1200.5, "owner": "sales-1",
                          "tags": ("vip", "beta"), "region": "east"}
    assert (linked.consent.marketing, linked.consent.contact, linked.consent.analytics) == (True, True, None)

    only = profile_of(storage, "crm:C1002")
    assert only.identities == ("crm:C1002",) and only.event_count == 0 and only.display_name == "Bob Wang"
    assert (only.lifecycle, only.crm["tier"], only.first_seen) == ("customer", "silver", AT)
    assert profile_of(storage, "douyin:d1").lifecycle == "member", "a loyalty member is at least a member"


def test_segments_filter_on_crm_attributes_and_consent_and_follow_a_re_import(runtime, storage) -> None:
    _publish(runtime)
    with storage.session_factory.begin() as session:
        for name, rule in (("gold", {"field": "crm.tier", "op": "eq", "value": "gold"}),
                           ("mailable", {"all": [{"field": "consent.marketing", "op": "eq", "value": True},
                                                 {"field": "crm.lifetime_value", "op": "gte", "value": 1000}]})):
            create_segment(name, parse_rule(rule), by="test", at=AT, session=session)
    first = _import(storage)
    gold_id = profile_of(storage, "crm:C1001").customer_id
    with storage.session_factory() as session:
        assert count_members("gold", session=session) == count_members("mailable", session=session) == 1
        assert [(c.customer_id, c.change) for c in segment_history("gold", session=session)] == [(gold_id, "enter")]
    assert first.segment_changes == 2

    again = _import(storage, at=AT + timedelta(days=1))
    assert (again.records_changed, again.profiles_changed, again.segment_changes) == (0, 0, 0)

    changed = CRM.replace("C1001,Li Ming,gold,1200.5", "C1001,Li Ming,silver,1300")
    before = profile_of(storage, "crm:C1001")
    result = _import(storage, changed, at=AT + timedelta(days=2))
    after = profile_of(storage, "crm:C1001")
    assert result.records_changed == 1 and after.crm["tier"] == "silver" and after.crm["lifetime_value"] == 1300.0
    assert after.model_copy(update={"crm": before.crm}) == before, "only the attributes changed"
    with storage.session_factory() as session:
        assert count_members("gold", session=session) == 0
        assert [c.change for c in segment_history("gold", session=session)] == ["enter", "leave"]
        assert count_members("mailable", session=session) == 1


def test_crm_attributes_survive_merges_splits_and_refolds(runtime, storage) -> None:
    _publish(runtime)
    _import(storage)
    # a merge: a hint on a new douyin account links it to the CRM customer's weibo account
    runtime.publish(event("douyin", "d9", 3, "hi", identity_hints={"crm_id": "C1001"}))
    runtime.drain()
    merged = profile_of(storage, "douyin:d9")
    assert merged.customer_id == profile_of(storage, "weibo:w1").customer_id
    assert merged.crm["tier"] == "gold" and merged.crm_id == "C1001"
    # a refold: an event older than everything folded rebuilds the profile from its events
    runtime.publish(event("weibo", "w1", 0, "earlier"))
    runtime.drain()
    refolded = profile_of(storage, "weibo:w1")
    assert refolded.event_count == 3 and refolded.crm == merged.crm and refolded.lifecycle == "customer"
    # a split: removing the CRM row's link leaves the CRM customer on its own, attributes intact
    with storage.session_factory() as session:
        link = next(link for link, active in links_of_customer(refolded.customer_id, session=session)
                    if active and {link.a, link.b} == {"crm:C1001", "weibo:w1"})
    runtime.submit_links([LinkSignal(op="unlink", link_id=link.link_id, requested_by="test", at=AT)])
    runtime.drain()
    crm_side, social = profile_of(storage, "crm:C1001"), profile_of(storage, "weibo:w1")
    assert crm_side.crm["tier"] == "gold" and "douyin:d9" in crm_side.identities
    assert social.crm == {} and social.crm_id is None and social.lifecycle == "prospect"


def test_a_customer_only_the_crm_knew_gets_their_first_events_time_when_they_act(runtime, storage) -> None:
    _import(storage, "crm_id,name,weibo\nC7,Zoe,z7\n")
    assert profile_of(storage, "weibo:z7").event_count == 0
    runtime.publish(event("weibo", "z7", 30, "第一次发帖"))
    runtime.drain()
    profile = profile_of(storage, "crm:C7")
    assert profile.event_count == 1 and profile.first_seen == profile.last_seen != AT
    assert profile.crm == {"name": "Zoe"} and profile.display_name == "Name z7"


def test_the_export_carries_every_attribute_and_the_social_identities_back_in_both_formats(runtime, storage) -> None:
    _publish(runtime)
    _import(storage)
    runtime.publish(event("douyin", "d5", 4, "great", identity_hints={"crm_id": "C1002"}))
    runtime.drain()
    original = {r.crm_id: r for r in parse_crm_csv(CRM.splitlines(keepends=True), source_name="crm.csv", at=AT).records}
    with storage.session_factory() as session:
        rows = list(iter_export_rows(session=session))
        csv_text = "".join(render_csv(iter(rows), attribute_headers(session=session)))
        jsonl_text = "".join(render_jsonl(iter(rows)))
    assert len(rows) == 3, "one row per customer"
    for parse, text in ((parse_crm_csv, csv_text), (parse_crm_jsonl, jsonl_text)):
        back = parse(text.splitlines(keepends=True), source_name="export", at=AT)
        assert back.errors == ()
        found = {r.crm_id: r for r in back.records}
        assert set(found) == set(original)
        for crm_id, record in original.items():
            assert found[crm_id].attributes == record.attributes and found[crm_id].consent == record.consent
            assert found[crm_id].stage == record.stage
        assert found["C1002"].identities == ("douyin:d5",), "the social identity the CRM did not know"
        assert found["C1001"].identities == ("weibo:w1",)
    by_crm = {row.crm_id: row for row in rows}
    assert by_crm["C1003"].scrm.lifecycle == "member" and by_crm["C1001"].scrm.sentiment.neutral + \
        by_crm["C1001"].scrm.sentiment.positive + by_crm["C1001"].scrm.sentiment.negative == 1
    assert "scrm_lifecycle" in csv_text.splitlines()[0]


def test_find_profile_by_a_crm_identity_that_was_never_imported_finds_nothing(storage) -> None:
    with storage.session_factory() as session:
        assert find_profile_by_identity("crm:NOPE", session=session) is None


def test_a_crm_only_customer_merged_into_a_social_account_moves_its_segment_membership(runtime, storage) -> None:
    _publish(runtime)
    with storage.session_factory.begin() as session:
        create_segment("silver", parse_rule({"field": "crm.tier", "op": "eq", "value": "silver"}), by="test", at=AT,
                       session=session)
    _import(storage)
    only = profile_of(storage, "crm:C1002")
    with storage.session_factory() as session:
        assert [c.customer_id for c in segment_history("silver", session=session)] == [only.customer_id]
    runtime.publish(event("weibo", "w9", 5, "hello"))
    runtime.drain()
    result = _import(storage, CRM.replace("C1002,Bob Wang,silver,300,sales-2,,no,true,,,",
                                          "C1002,Bob Wang,silver,300,sales-2,,no,true,w9,,"), at=AT + timedelta(days=1))
    assert result.records_changed == 1 and result.merges == 1
    merged = profile_of(storage, "crm:C1002")
    assert merged.crm["tier"] == "silver" and "weibo:w9" in merged.identities
    with storage.session_factory() as session:
        history = [(c.customer_id, c.change) for c in segment_history("silver", session=session)]
        assert count_members("silver", session=session) == 1
    assert sorted(history) == sorted([(only.customer_id, "enter"), (only.customer_id, "leave"),
                                      (merged.customer_id, "enter")]), "the merged-away id left, the survivor entered"


def test_a_file_with_fewer_columns_updates_what_it_names_and_keeps_the_rest(runtime, storage) -> None:
    _import(storage)
    result = _import(storage, "crm_id,consent_contact,owner,douyin\nC1001,no,,d7\n", at=AT + timedelta(days=1))
    assert result.records_changed == 1
    profile = profile_of(storage, "crm:C1001")
    assert profile == profile_of(storage, "douyin:d7"), "the new handle is linked"
    assert "owner" not in profile.crm, "an empty cell in a column the file has removes the attribute"
    assert profile.crm["tier"] == "gold" and profile.crm["tags"] == ("vip", "beta"), "columns it lacks are kept"
    assert (profile.consent.contact, profile.consent.marketing) == (False, True)
    assert profile_of(storage, "crm:C1003").lifecycle == "member", "a file without loyalty columns keeps the stage"
