"""The connectors file's [brands.<brand>] tables reach the detectors and the apply lane of every entry point:
``scrm run`` (embedded) and ``scrm worker`` (which refuses a bad table before touching Kafka)."""

from __future__ import annotations

import json

from scrm.cli import main
from scrm.wiring import brands_of, with_brands
from streams.config import PipelineConfig

BRANDS = '[brands.acme]\naccounts = ["weibo:acme-official"]\nhandles = ["acme_official"]\n\n[brands.lumo]\naccounts = ["x:42"]\n'


def test_every_brands_accounts_and_handles_join_the_pipeline_config(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(BRANDS, encoding="utf-8")
    pipeline = with_brands(PipelineConfig(), brands_of(path))
    assert pipeline.alerts.opportunity.brand_accounts == ("weibo:acme-official", "x:42")
    assert pipeline.alerts.opportunity.brand_handles == ("acme_official",)
    assert with_brands(PipelineConfig(), brands_of(None)) == PipelineConfig()


def test_scrm_run_reads_them_from_the_connectors_file(tmp_path, monkeypatch, capsys):
    path = tmp_path / "c.toml"
    path.write_text(BRANDS, encoding="utf-8")
    events = tmp_path / "e.jsonl"
    common = {"platform": "weibo", "kind": "post", "occurred_at": "2026-11-02T08:00:00+00:00", "brand": "acme",
              "source": "test"}
    events.write_text("\n".join(json.dumps({**common, **row}, ensure_ascii=False) for row in [
        {"event_id": "p1", "author": {"id": "acme-official", "handle": "Acme官方微博"}, "text": "新品今天开售"},
        {"event_id": "p2", "author": {"id": "fan1", "handle": "fan1"}, "text": "很喜欢这个耳机"},
    ]) + "\n", encoding="utf-8")
    monkeypatch.setenv("SCRM_CONNECTORS_FILE", str(path))
    data = tmp_path / "d"
    assert main(["run", "--input", str(events), "--data-dir", str(data)]) == 0
    capsys.readouterr()
    assert main(["profile", "weibo:fan1", "--data-dir", str(data)]) == 0
    assert "fan1" in capsys.readouterr().out
    assert main(["profile", "weibo:acme-official", "--data-dir", str(data)]) != 0, "the brand is no customer"


def test_scrm_worker_refuses_a_bad_brand_table_before_connecting(tmp_path, monkeypatch, capsys):
    path = tmp_path / "c.toml"
    path.write_text('[brands.acme]\naccounts = ["acme-official"]\n', encoding="utf-8")
    monkeypatch.setenv("SCRM_CONNECTORS_FILE", str(path))
    monkeypatch.setenv("SCRM_PRIVACY_SECRET", "s")
    assert main(["worker", "--bootstrap", "127.0.0.1:1"]) == 2
    assert "brand 'acme'" in capsys.readouterr().err


def test_scrm_worker_refuses_to_start_without_the_privacy_secret(monkeypatch, capsys):
    monkeypatch.delenv("SCRM_PRIVACY_SECRET", raising=False)
    assert main(["worker", "--bootstrap", "127.0.0.1:1"]) == 2
    assert "SCRM_PRIVACY_SECRET" in capsys.readouterr().err
