"""Pure identity pieces: keys, link ids, components, survivor election, CRM parsing, suggestions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ingest.contracts import IdentityHints
from profile_store.contracts import Provenance
from profile_store.crm_import import parse_crm_csv
from profile_store.identity_graph import (
    components,
    elect_customer_id,
    link_id_for,
    make_link,
    new_customer_id,
)
from profile_store.identity_keys import linking_keys, normalise_phone, parse_identity_key
from profile_store.suggestions import Candidate, normalise_name, suggest

AT = datetime(2026, 11, 1, tzinfo=UTC)
PROVENANCE = Provenance(source="api", actor="test")


def test_linking_keys_are_normalised_and_invalid_hints_ignored() -> None:
    hints = IdentityHints(email=" Ann@Example.COM ", phone="138-0013-8000", wechat_unionid="oU1", crm_id="C9")
    assert linking_keys(hints) == ["email:ann@example.com", "phone:+8613800138000", "wechat_unionid:oU1", "crm:C9"]
    assert linking_keys(IdentityHints(email="not-an-email", phone="12")) == []
    assert normalise_phone("+1 (650) 253-0000") == "+16502530000"


@pytest.mark.parametrize("raw", ["nonsense", "myspace:1", "email:nobody", "phone:12", "weibo:"])
def test_bad_identity_keys_are_refused_with_a_reason(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_identity_key(raw)


def test_link_ids_ignore_direction_and_self_links_are_refused() -> None:
    assert link_id_for("weibo:1", "email:a@b.co") == link_id_for("email:a@b.co", "weibo:1")
    assert make_link("weibo:1", "douyin:2", PROVENANCE, AT).a == "douyin:2"
    with pytest.raises(ValueError):
        make_link("weibo:1", "weibo:1", PROVENANCE, AT)


def test_components_follow_links_transitively() -> None:
    links = [make_link("a:1", "b:1", PROVENANCE, AT), make_link("b:1", "c:1", PROVENANCE, AT)]
    assert components(["d:1"], links) == [frozenset({"a:1", "b:1", "c:1"}), frozenset({"d:1"})]


def test_the_earliest_seen_acting_identity_names_the_customer() -> None:
    seen = {"weibo:new": AT + timedelta(days=3), "douyin:old": AT, "email:x@y.co": None}
    assert elect_customer_id(seen, seen) == new_customer_id("douyin:old")
    assert elect_customer_id(["email:x@y.co", "crm:1"], {}) == new_customer_id("crm:1")


def test_crm_rows_become_links_from_the_crm_id_and_bad_cells_are_reported() -> None:
    text = (
        "crm_id,name,email,phone,handles,douyin\n"
        "C1,Ann,ann@example.com,+86 138 0013 8000,weibo:11;x:ann,d-77\n"
        ",Nobody,,,,\n"
        "C2,Bob,bad-email,,myspace:2,\n"
    )
    imported = parse_crm_csv(text.splitlines(keepends=True), source_name="crm.csv", at=AT)
    ends = {(s.link.a, s.link.b) for s in imported.signals if s.link}
    assert ends == {
        ("crm:C1", "email:ann@example.com"), ("crm:C1", "phone:+8613800138000"), ("crm:C1", "weibo:11"),
        ("crm:C1", "x:ann"), ("crm:C1", "douyin:d-77"),
    }
    assert imported.rows == 3 and len(imported.errors) == 3
    assert all(s.link and s.link.provenance.source == "crm_import" for s in imported.signals)


def test_a_file_without_crm_id_column_is_refused() -> None:
    imported = parse_crm_csv(["name,email\n", "Ann,a@b.co\n"], source_name="x.csv", at=AT)
    assert imported.signals == () and imported.errors


def test_suggestions_pair_similar_names_across_platforms_with_evidence() -> None:
    candidates = [
        Candidate("weibo:1", "c1", "li_ming88", "李明 Li Ming", frozenset({"weibo:t1", "weibo:t2"})),
        Candidate("douyin:9", "c2", "LiMing88", "Li Ming", frozenset({"weibo:t1"})),
        Candidate("weibo:2", "c3", "liming88", "Li Ming", frozenset()),
        Candidate("x:5", "c4", "zhang_wei", "Zhang Wei", frozenset()),
    ]
    found = suggest(candidates, at=AT, min_score=0.3)
    pairs = {(s.a, s.b) for s in found}
    assert ("douyin:9", "weibo:1") in pairs and ("douyin:9", "weibo:2") in pairs
    assert ("weibo:1", "weibo:2") not in pairs, "same platform is never suggested"
    assert not any("x:5" in (s.a, s.b) for s in found)
    best = found[0]
    assert 0.0 <= best.score <= 1.0 and best.evidence["same_handle"] is True
    assert normalise_name("Li_Ming 88!") == "liming88"
