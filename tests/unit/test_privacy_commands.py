"""``scrm erase`` (and ``scrm rescore``) on an embedded data dir: erases without asking off a terminal, prints the counts per store,
``--verify`` exits 0 once nothing is left and 1 while something is, an unknown id exits 1 and lists nothing."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from scrm.cli import main


def _rows_holding(data_dir: Path, tag: str) -> list[str]:
    """Which SQLite tables still hold the person's strings (for a failure's message)."""
    import sqlite3

    found = []
    with sqlite3.connect(data_dir / "scrm.sqlite") as db:
        for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            for row in db.execute(f'SELECT * FROM "{table}"'):
                text = repr(row)
                for needle in (f"cli-{tag}", f"clihandle{tag}"):
                    if needle in text:
                        at = text.index(needle)
                        found.append(f"{table}: ...{text[max(0, at - 150):at + 60]}")
    return found


@pytest.fixture
def data_dir(chdb_storage_dsn: str) -> Path:
    return Path(chdb_storage_dsn.removeprefix("chdb://")).parent


def test_scrm_erase_removes_a_person_and_verify_says_so(data_dir, tmp_path, capsys):
    tag = uuid.uuid4().hex[:8]
    events = tmp_path / "e.jsonl"
    common = {"platform": "weibo", "kind": "post", "occurred_at": "2033-01-02T08:00:00+00:00", "brand": "acme",
              "source": "test"}
    events.write_text("\n".join(json.dumps({**common, **row}, ensure_ascii=False) for row in [
        {"event_id": f"c1-{tag}", "author": {"id": f"cli-{tag}", "handle": f"clihandle{tag}"}, "text": "耳机坏了，要退款"},
        {"event_id": f"c2-{tag}", "author": {"id": f"cli-{tag}", "handle": f"clihandle{tag}"}, "text": "还是坏的"},
    ]) + "\n", encoding="utf-8")
    assert main(["run", "--input", str(events), "--data-dir", str(data_dir)]) == 0
    capsys.readouterr()
    assert any(f"clihandle{tag}".encode() in path.read_bytes() for path in data_dir.rglob("*") if path.is_file())
    assert main(["erase", "--verify", f"weibo:cli-{tag}", "--data-dir", str(data_dir)]) == 1
    assert "sql.profile_events" in capsys.readouterr().out

    assert main(["erase", f"weibo:cli-{tag}", "--reason", "ticket 12", "--by", "dpo", "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert "by dpo" in out and any(line.split()[:2] == ["sql.profile_events", "2"] for line in out.splitlines())
    assert f"cli-{tag}" not in out, "the output names no erased data"
    assert main(["erase", "--verify", f"weibo:cli-{tag}", "--data-dir", str(data_dir)]) == 0
    assert "no trace" in capsys.readouterr().out
    holding = [path for path in data_dir.rglob("*") if path.is_file()
               and any(needle in path.read_bytes() for needle in (f"cli-{tag}".encode(), f"clihandle{tag}".encode()))]
    assert holding == [], f"no file of the data dir holds the person's ids or handle: {_rows_holding(data_dir, tag)}"
    assert main(["profile", f"weibo:cli-{tag}", "--data-dir", str(data_dir)]) != 0
    capsys.readouterr()
    assert main(["erase", "--audit", "50", "--data-dir", str(data_dir)]) == 0
    audit = capsys.readouterr().out
    assert "by dpo: done" in audit and "(ticket 12)" in audit and f"cli-{tag}" not in audit


def test_scrm_erase_of_an_unknown_id_exits_1(data_dir, capsys):
    assert main(["erase", f"weibo:nobody-{uuid.uuid4().hex[:6]}", "--data-dir", str(data_dir)]) == 1
    assert "nothing erased" in capsys.readouterr().err


def test_scrm_rescore_scores_a_data_dir_again_with_another_model_once(data_dir, tmp_path, monkeypatch, capsys):
    tag = uuid.uuid4().hex[:8]
    events = tmp_path / "r.jsonl"
    events.write_text(json.dumps({"event_id": f"r1-{tag}", "platform": "weibo", "kind": "post", "brand": "acme",
                                  "occurred_at": "2034-02-03T08:00:00+00:00", "source": "test",
                                  "author": {"id": f"rs-{tag}"}, "text": "the battery died, refund please"}) + "\n")
    monkeypatch.setenv("SCRM_ENRICHMENT__MODEL", "lexicon")
    assert main(["run", "--input", str(events), "--data-dir", str(data_dir)]) == 0
    capsys.readouterr()
    since = ["--since", "2034-02-03", "--until", "2034-02-04", "--data-dir", str(data_dir)]

    assert main(["rescore", "--model", "fast", *since]) == 0
    assert "re-scored 1 of 1 events with scrm-fast" in capsys.readouterr().out
    assert main(["rescore", "--model", "fast", *since]) == 0
    assert "re-scored 0 of 1 events" in capsys.readouterr().out


def test_a_crm_file_withdrawing_analytics_consent_removes_the_customer_from_clickhouse(data_dir, tmp_path, capsys,
                                                                                       chdb_storage_dsn):
    from analytics.client import connect

    tag = uuid.uuid4().hex[:8]
    events = tmp_path / "a.jsonl"
    events.write_text(json.dumps({"event_id": f"a1-{tag}", "platform": "weibo", "kind": "post", "brand": "acme",
                                  "occurred_at": "2034-03-03T08:00:00+00:00", "source": "test",
                                  "author": {"id": f"an-{tag}"}, "text": "works fine"}) + "\n")
    assert main(["run", "--input", str(events), "--data-dir", str(data_dir)]) == 0
    crm = tmp_path / "crm.csv"
    crm.write_text(f"crm_id,weibo,consent_analytics\nC-{tag},an-{tag},no\n")
    client = connect(chdb_storage_dsn)

    def stored() -> int:
        _, rows = client.query("SELECT count() FROM scrm.events WHERE author_id = {a:String}", {"a": f"an-{tag}"})
        return int(rows[0][0])

    try:
        assert stored() == 1
        capsys.readouterr()
        assert main(["import-crm", str(crm), "--data-dir", str(data_dir)]) == 0
        assert json.loads(capsys.readouterr().out)["excluded_from_analytics"] == 1
        assert stored() == 0
    finally:
        client.close()
