"""Identity resolution end to end on the embedded runtime with a real SQLite store."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from enrichment.lexicon import LexiconEnricher
from profile_store.contracts import CustomerProfile, LinkSignal, Provenance
from profile_store.crm_import import parse_crm_csv
from profile_store.identity_graph import make_link, new_customer_id
from profile_store.identity_repository import links_of_customer, merge_history
from profile_store.repository import find_profile_by_identity, get_profile
from streams.config import PipelineConfig
from streams.identity_service import apply_link_signals
from streams.runtimes.embedded import EmbeddedRuntime
from streams.storage import Storage, open_storage

START = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def event(platform: str, author: str, n: int, text: str, kind: str = "post", **extra: Any) -> bytes:
    at = START + timedelta(hours=n)
    payload = {
        "event_id": f"{platform}-{author}-{n}", "platform": platform, "kind": kind,
        "occurred_at": at.isoformat(), "received_at": (at + timedelta(seconds=3)).isoformat(),
        "author": {"id": author, "handle": f"{author}_h", "display_name": f"Name {author}", "followers": 100 * n},
        "brand": "acme", "text": text, "source": "test", **extra,
    }
    return json.dumps(payload).encode()


def profile_of(storage: Storage, identity: str) -> CustomerProfile:
    with storage.session_factory() as session:
        profile = find_profile_by_identity(identity, session=session)
    assert profile is not None, f"no profile for {identity}"
    return profile


def publish_two_customers(runtime: EmbeddedRuntime) -> None:
    runtime.publish(event("weibo", "w1", 1, "快递太慢了，我要投诉"))
    runtime.publish(event("weibo", "w1", 3, "客服回复了，谢谢，满意"))
    runtime.publish(event("weibo", "w1", 5, "", kind="like"))
    runtime.publish(event("douyin", "d1", 2, "这个手机真不错，推荐"))
    runtime.publish(event("douyin", "d1", 4, "love it, best camera", kind="comment"))
    runtime.drain()


def crm_link(runtime: EmbeddedRuntime) -> None:
    text = "crm_id,name,email,handles\nC-42,Li Ming,li@example.com,weibo:w1;douyin:d1\n"
    imported = parse_crm_csv(text.splitlines(keepends=True), source_name="crm.csv", at=START)
    assert imported.errors == ()
    runtime.submit_links(imported.signals)
    runtime.drain()


def test_a_crm_row_linking_two_handles_makes_one_profile_whose_counts_are_the_sums(
    runtime: EmbeddedRuntime, storage: Storage
) -> None:
    publish_two_customers(runtime)
    weibo, douyin = profile_of(storage, "weibo:w1"), profile_of(storage, "douyin:d1")
    crm_link(runtime)

    merged = profile_of(storage, "weibo:w1")
    assert profile_of(storage, "douyin:d1") == merged
    assert merged.event_count == weibo.event_count + douyin.event_count == 5
    assert merged.counts_by_platform == {"weibo": 3, "douyin": 2}
    assert merged.counts_by_kind == {"post": 3, "like": 1, "comment": 1}
    assert merged.sentiment.positive == weibo.sentiment.positive + douyin.sentiment.positive
    assert merged.sentiment.negative == weibo.sentiment.negative + douyin.sentiment.negative
    assert set(merged.identities) == {"weibo:w1", "douyin:d1", "crm:C-42", "email:li@example.com"}
    # the older customer (weibo:w1 acted first) survives; the other id redirects to it
    assert merged.customer_id == weibo.customer_id == new_customer_id("weibo:w1")
    with storage.session_factory() as session:
        assert get_profile(douyin.customer_id, session=session) == merged
        history = merge_history(merged.customer_id, session=session)
    assert [(h.kind, h.survivor, h.other) for h in history] == [("merge", weibo.customer_id, douyin.customer_id)]
    assert history[0].provenance is not None and history[0].provenance.source == "crm_import"
    assert history[0].provenance.actor == "crm.csv"


def test_removing_the_link_restores_both_original_profiles_exactly(runtime: EmbeddedRuntime, storage: Storage) -> None:
    publish_two_customers(runtime)
    runtime.submit_links(parse_crm_csv(["crm_id,handles\n", "C-1,weibo:w1 douyin:d1\n"], source_name="f", at=START).signals)
    runtime.drain()
    weibo_alone = profile_of(storage, "weibo:w1")
    merged_id = weibo_alone.customer_id
    with storage.session_factory() as session:
        links = [link for link, active in links_of_customer(merged_id, session=session) if active]
    douyin_link = next(link for link in links if "douyin:d1" in (link.a, link.b))

    from profile_store.contracts import LinkSignal

    runtime.submit_links([LinkSignal(op="unlink", link_id=douyin_link.link_id, requested_by="test", at=START)])
    runtime.drain()

    # a fresh store that never saw the link gives the reference profiles
    reference = open_storage("sqlite://", None)
    ref_runtime = EmbeddedRuntime(config=PipelineConfig(), enricher=LexiconEnricher(), storage=reference)
    publish_two_customers(ref_runtime)
    ref_runtime.submit_links(parse_crm_csv(["crm_id,handles\n", "C-1,weibo:w1\n"], source_name="f", at=START).signals)
    ref_runtime.drain()

    for identity in ("douyin:d1", "weibo:w1"):
        assert profile_of(storage, identity) == profile_of(reference, identity), identity
    assert profile_of(storage, "douyin:d1").customer_id == new_customer_id("douyin:d1")
    with storage.session_factory() as session:
        kinds = [h.kind for h in merge_history(merged_id, session=session)]
    assert kinds == ["merge", "split"]


def test_replaying_the_same_events_twice_changes_nothing(runtime: EmbeddedRuntime, storage: Storage) -> None:
    publish_two_customers(runtime)
    crm_link(runtime)
    before = profile_of(storage, "weibo:w1")
    publish_two_customers(runtime)
    crm_link(runtime)
    assert profile_of(storage, "weibo:w1") == before
    assert runtime.stats.duplicates == 5


def test_events_arriving_after_a_merge_fold_into_the_survivor(runtime: EmbeddedRuntime, storage: Storage) -> None:
    publish_two_customers(runtime)
    crm_link(runtime)
    runtime.publish(event("douyin", "d1", 9, "还是很满意"))
    runtime.publish(event("weibo", "w1", 0, "最早的一条，质量问题", ))
    runtime.drain()
    merged = profile_of(storage, "douyin:d1")
    assert merged.event_count == 7
    assert merged.first_seen == START
    assert merged.timeline[0].event_id == "douyin-d1-9"


def test_connector_identity_hints_link_accounts_across_platforms(runtime: EmbeddedRuntime, storage: Storage) -> None:
    runtime.publish(event("wechat", "o-abc", 1, "你好", identity_hints={"wechat_unionid": "U1", "phone": "138 0013 8000"}))
    runtime.publish(event("wecom", "ext-9", 2, "想买", identity_hints={"wechat_unionid": "U1"}))
    runtime.drain()
    profile = profile_of(storage, "wecom:ext-9")
    assert profile == profile_of(storage, "wechat:o-abc")
    assert "phone:+8613800138000" in profile.identities
    assert profile.event_count == 2


def test_the_earliest_active_identity_names_the_customer_whatever_the_arrival_order(
    runtime: EmbeddedRuntime, storage: Storage
) -> None:
    crm_link(runtime)
    runtime.publish(event("douyin", "d1", 4, "后来的一条"))
    runtime.drain()
    assert profile_of(storage, "weibo:w1").customer_id == new_customer_id("douyin:d1")
    runtime.publish(event("weibo", "w1", 1, "最早的一条"))
    runtime.drain()
    merged = profile_of(storage, "douyin:d1")
    assert merged.customer_id == new_customer_id("weibo:w1")
    assert merged.event_count == 2
    with storage.session_factory() as session:
        assert get_profile(new_customer_id("douyin:d1"), session=session) == merged
        assert [h.kind for h in merge_history(merged.customer_id, session=session)][-1] == "reelect"


def test_new_linking_keys_join_their_acting_account_exactly_as_full_links_would(tmp_path: Path) -> None:
    """The identity service attaches never-seen keys (an e-mail and a phone from one connector payload,
    then a CRM id to the now linked account) to an acting account in bulk; the general merge path (taken
    when a batch names each link twice) must leave the same profiles and links."""
    provenance = Provenance(source="connector", actor="test")
    new_keys = ("email:li@example.com", "phone:+8613800138000", "crm:C-42")
    hints = [LinkSignal(op="link", link=make_link("weibo:w1", key, provenance, START), at=START) for key in new_keys]
    batches = {"bulk": [hints[:2], hints[2:]], "merge path": [[s for s in batch for _ in range(2)] for batch in (hints[:2], hints[2:])]}
    outcomes = []
    for name, signal_batches in batches.items():
        storage = open_storage(f"sqlite:///{tmp_path}/{name}.db", None)
        runtime = EmbeddedRuntime(config=PipelineConfig(), enricher=LexiconEnricher(), storage=storage)
        publish_two_customers(runtime)
        changes = [apply_link_signals(signals, session_factory=storage.session_factory) for signals in signal_batches]
        with storage.session_factory() as session:
            links = [(lnk.link_id, active) for lnk, active in links_of_customer(new_customer_id("weibo:w1"), session=session)]
        outcomes.append((changes, profile_of(storage, "weibo:w1"), profile_of(storage, "crm:C-42"),
                         profile_of(storage, "douyin:d1"), links))
        storage.close()
    (bulk, *bulk_state), (merged, *merged_state) = outcomes
    assert bulk_state == merged_state
    weibo = bulk_state[0]
    assert weibo.customer_id == new_customer_id("weibo:w1") and set(new_keys) <= set(weibo.identities)
    assert [c.assignments for c in bulk] == [c.assignments for c in merged] == [
        {key: weibo.customer_id for key in new_keys[:2]}, {new_keys[2]: weibo.customer_id}]
    assert [c.history for c in bulk] == [c.history for c in merged] == [[], []]
    assert [c.tombstones for c in bulk] == [set(), set()], "the bulk path never gives a new key a customer of its own"
    assert [c.tombstones for c in merged] == [{new_customer_id(k) for k in new_keys[:2]}, {new_customer_id(new_keys[2])}]
