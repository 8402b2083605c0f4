"""``scrm import-crm`` / ``scrm export-crm`` / ``scrm profile crm:<id>`` end to end on a data dir, as a
user runs them."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
CRM = (
    "crm_id,name,tier,lifetime_value,email,weibo,consent_marketing\n"
    "C1001,Ann Li,gold,1200,ann@example.com,ann_w,yes\n"
    "C1002,Bob Wang,silver,300,,,no\n"
    "C1003,Cat,bronze,lots,,,\n"
)


def _scrm(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(SRC), "SCRM_ENRICHMENT__MODEL": "lexicon"}
    return subprocess.run([sys.executable, "-m", "scrm.cli", *args], capture_output=True, text=True, env=env,
                          timeout=300)


def test_import_reports_bad_rows_creates_crm_only_profiles_and_export_writes_them_back(tmp_path: Path) -> None:
    data_dir, source = tmp_path / "state", tmp_path / "customers.csv"
    source.write_text(CRM, encoding="utf-8")
    first = _scrm("import-crm", str(source), "--data-dir", str(data_dir))
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert (summary["rows"], summary["imported"], summary["rows_rejected"], summary["profiles_created"]) == (3, 2, 1, 1)
    assert "customers.csv: row 4: column lifetime_value: not a number" in first.stderr

    shown = _scrm("profile", "crm:C1002", "--data-dir", str(data_dir))
    assert shown.returncode == 0, shown.stderr
    profile = json.loads(shown.stdout)
    assert (profile["crm_id"], profile["lifecycle"], profile["crm"]["tier"]) == ("C1002", "customer", "silver")
    assert profile["consent"]["marketing"] is False

    again = _scrm("import-crm", str(source), "--data-dir", str(data_dir))
    assert json.loads(again.stdout)["records_changed"] == 0 and json.loads(again.stdout)["profiles_changed"] == 0

    out = tmp_path / "export.csv"
    exported = _scrm("export-crm", "--data-dir", str(data_dir), "--format", "csv", "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    rows = {row["crm_id"]: row for row in csv.DictReader(out.open(encoding="utf-8"))}
    assert set(rows) == {"C1001", "C1002"}
    assert rows["C1001"]["handles"] == "email:ann@example.com;weibo:ann_w"
    assert (rows["C1001"]["tier"], rows["C1001"]["lifetime_value"], rows["C1001"]["consent_marketing"]) == (
        "gold", "1200.0", "true")
    assert rows["C1002"]["scrm_lifecycle"] == "customer"


def test_a_file_without_crm_ids_is_refused_with_exit_code_1_and_the_reason(tmp_path: Path) -> None:
    source = tmp_path / "people.jsonl"
    source.write_text('{"name": "Ann"}\n', encoding="utf-8")
    refused = _scrm("import-crm", str(source), "--data-dir", str(tmp_path / "state"))
    assert refused.returncode == 1 and "row 1: empty crm_id" in refused.stderr, "no row could be imported"
    source = tmp_path / "people.csv"
    source.write_text("name\nAnn\n", encoding="utf-8")
    refused = _scrm("import-crm", str(source), "--data-dir", str(tmp_path / "state"))
    assert refused.returncode == 1 and "row 1: the header must name a crm_id column" in refused.stderr
