"""Parsing CRM files: the column mapping, typed attributes, consent, stage, and every unusable row reported
with its row number and reason."""

from __future__ import annotations

from datetime import UTC, datetime

from profile_store.contracts import Consent
from profile_store.crm_import import RowError, parse_crm_csv, parse_crm_jsonl

AT = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def _csv(text: str):
    return parse_crm_csv(text.splitlines(keepends=True), source_name="crm.csv", at=AT)


def _jsonl(text: str):
    return parse_crm_jsonl(text.splitlines(keepends=True), source_name="crm.jsonl", at=AT)


def test_known_columns_have_their_types_declared_ones_theirs_and_unknown_ones_stay_strings() -> None:
    imported = _csv(
        "crm_id,Name,tier,Lifetime Value,owner,tags,visits:integer,vip:boolean,since:date,score:number,region,zip\n"
        'C1,Ann Li,gold,"1,200.50",sales-1,vip; beta,3,yes,2024-05-01,7,east,02134\n'
    )
    assert imported.errors == ()
    (record,) = imported.records
    assert record.attributes == {
        "name": "Ann Li", "tier": "gold", "lifetime_value": 1200.5, "owner": "sales-1", "tags": ("vip", "beta"),
        "visits": 3, "vip": True, "since": "2024-05-01", "score": 7.0, "region": "east", "zip": "02134",
    }
    assert record.stage == "customer"


def test_other_names_crm_exports_give_the_known_columns_are_understood() -> None:
    """Exports name the id ``customer_id`` or ``客户编号``, the phone ``手机号``: each reads as the known
    column when the file has none of that name; a second alias stays an attribute."""
    imported = _csv("客户编号,姓名,手机号,Email Address,会员等级,LTV,account_id\nK-9,王芳,13800138000,wang@example.com,gold,"
                    "¥12500,A-1\n")
    assert imported.errors == ()
    (record,) = imported.records
    assert record.crm_id == "K-9"
    assert record.attributes == {"name": "王芳", "tier": "gold", "lifetime_value": 12500.0, "account_id": "A-1"}
    assert {"phone:+8613800138000", "email:wang@example.com"} <= set(record.identities)
    lines = _jsonl('{"customer_id": "J-1", "mobile": "13800138001", "crm_id_note": "x"}\n')
    assert lines.errors == () and lines.records[0].crm_id == "J-1"
    assert _csv("crm_id,customer_id\nC1,X9\n").records[0].attributes == {"customer_id": "X9"}, \
        "with a crm_id column of its own, customer_id is an attribute"


def test_consent_columns_set_channels_and_an_empty_cell_leaves_the_channel_unknown() -> None:
    imported = _csv("crm_id,consent_marketing,contact_consent,opt_in_analytics\nC1,no,是,\n")
    assert imported.records[0].consent == Consent(marketing=False, contact=True, analytics=None)
    opt_outs = _csv("crm_id,do_not_contact,marketing_opt_out,analytics_opt_in\nC1,yes,false,1\n")
    assert opt_outs.records[0].consent == Consent(contact=False, marketing=True, analytics=True)


def test_stage_follows_the_stage_column_else_loyalty_columns_else_customer() -> None:
    imported = _csv(
        "crm_id,stage,loyalty_tier,loyalty_member\n"
        "L1,lead,,\nM1,,silver,\nM2,,,true\nN1,,none,false\nS1,Member,,\n"
    )
    stages = {r.crm_id: r.stage for r in imported.records}
    assert stages == {"L1": "prospect", "M1": "member", "M2": "member", "N1": "customer", "S1": "member"}


def test_rows_that_do_not_map_are_reported_with_row_number_and_reason_and_import_nothing() -> None:
    imported = _csv(
        "crm_id,lifetime_value,consent_marketing,email,stage\n"
        "C1,100,yes,a@b.co,customer\n"
        ",5,,,\n"
        "C2,lots,maybe,not-an-email,\n"
        "C3,1,,,dormant\n"
        "C1,2,,,\n"
        "C4,1,2,3,4,5,6\n"
    )
    assert [r.crm_id for r in imported.records] == ["C1", "C3"]
    assert imported.records[1].attributes == {"lifetime_value": 1.0, "stage": "dormant"}, "an unknown stage is kept"
    assert imported.records[1].stage == "customer"
    assert imported.rows == 6
    assert imported.errors == (
        RowError(3, "empty crm_id"),
        RowError(4, "column lifetime_value: not a number"),
        RowError(4, "column consent_marketing: not a boolean (true/false, yes/no, 1/0)"),
        RowError(4, "column email: not a valid email"),
        RowError(6, "crm_id already given on row 2"),
        RowError(7, "7 cells for 5 columns"),
    )
    assert all("not-an-email" not in str(error) for error in imported.errors), "cell values are personal data"


def test_semicolon_files_currency_signs_and_excel_booleans_are_read() -> None:
    imported = _csv("crm_id;Lifetime Value;consent_marketing;stage\nC1;¥1,200;TRUE;VIP\nC2;300 元;FALSE;潜在客户\n")
    assert imported.errors == ()
    assert [(r.attributes["lifetime_value"], r.consent.marketing, r.stage) for r in imported.records] == [
        (1200.0, True, "member"), (300.0, False, "prospect")]


def test_a_header_without_crm_id_or_with_an_unknown_type_refuses_the_file() -> None:
    (refused,) = _csv("name,email\nAnn,a@b.co\n").errors
    assert refused.row == 1 and refused.reason.startswith("the header must name a crm_id column")
    refused = _csv("crm_id,visits:count\nC1,3\n")
    assert refused.records == () and refused.errors[0].row == 1 and "unknown type 'count'" in refused.errors[0].reason


def test_json_lines_keep_json_types_and_read_consent_handles_and_attributes_objects() -> None:
    lines = [
        '{"crm_id": "C1", "visits": 3, "vip": true, "tags": ["a", "b"], "lifetime_value": "12.5", '
        '"consent": {"marketing": true, "contact": null}, "handles": ["weibo:w1", "email:A@B.co"], '
        '"attributes": {"tier": "gold"}, "scrm": {"lifecycle": "fan"}, "schema_version": 1}\n',
        "\n",
        "[1, 2]\n",
        '{"crm_id": "C2", "lifetime_value": true}\n',
        "{broken\n",
    ]
    imported = parse_crm_jsonl(lines, source_name="crm.jsonl", at=AT)
    (record,) = imported.records
    assert record.attributes == {"visits": 3, "vip": True, "tags": ("a", "b"), "lifetime_value": 12.5, "tier": "gold"}
    assert record.consent == Consent(marketing=True)
    assert record.identities == ("weibo:w1", "email:a@b.co")
    assert {(s.link.a, s.link.b) for s in imported.signals if s.link} == {("crm:C1", "weibo:w1"), ("crm:C1", "email:a@b.co")}
    assert [(e.row, e.reason.split(":")[0]) for e in imported.errors] == [
        (3, "not a JSON object"), (4, "column lifetime_value"), (5, "not JSON")]
    assert imported.ignored_columns == ("schema_version", "scrm")


def test_a_json_file_holding_one_array_of_objects_is_read_element_by_element() -> None:
    text = '[\n  {"crm_id": "C1", "tier": "gold"},\n  {"tier": "silver"},\n  {"crm_id": "C3", "visits": 2}\n]\n'
    imported = parse_crm_jsonl(text.splitlines(keepends=True), source_name="crm.json", at=AT)
    assert [(r.crm_id, r.attributes) for r in imported.records] == [("C1", {"tier": "gold"}), ("C3", {"visits": 2})]
    assert imported.errors == (RowError(2, "empty crm_id"),)
    broken = parse_crm_jsonl(['[{"crm_id": "C1"},\n', '{"crm_id": \n'], source_name="crm.json", at=AT)
    assert broken.records == () and broken.errors[0].row == 1 and broken.errors[0].reason.startswith("not a JSON array")
