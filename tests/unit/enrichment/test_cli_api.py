from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path

import pytest

from api.app import install_access
from api.auth import Keyring

ROOT = Path(__file__).resolve().parents[3]


def _load(path: Path, name: str):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_enrich_jsonl_prints_one_line_per_input_with_errors_in_place(tmp_path: Path, capsys) -> None:
    enrich = _load(ROOT / "src/scrm/commands/enrich.py", "enrich_cmd")
    parser = argparse.ArgumentParser()
    enrich.register(parser.add_subparsers())
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "质量太差了"}\nnot json\n{"id": 3}\n{"text": "love it"}\n', encoding="utf-8")
    args = parser.parse_args(["enrich", "--jsonl", str(src), "--model", "lexicon"])
    assert args.handler(args) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 4
    assert lines[0]["sentiment"]["label"] == "negative" and "error" in lines[1] and "error" in lines[2]
    assert lines[3]["sentiment"]["label"] == "positive"


def test_enrich_route_validates_and_keeps_order() -> None:
    pytest.importorskip("sqlalchemy")
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from api.routers.enrich import router
    from enrichment.lexicon import LexiconEnricher

    app = FastAPI()
    app.include_router(router)
    app.state.enricher = LexiconEnricher()
    install_access(app, Keyring({"k": "agent", "m": "marketer"}))
    client = TestClient(app)
    ok = client.post("/v1/enrich", json={"texts": ["太差了", "love it"]}, headers={"X-API-Key": "k"})
    assert ok.status_code == 200
    assert [r["sentiment"]["label"] for r in ok.json()["results"]] == ["negative", "positive"]
    assert client.post("/v1/enrich", json={"texts": []}, headers={"X-API-Key": "k"}).status_code == 422
    assert client.post("/v1/enrich", json={"texts": ["x"] * 257}, headers={"X-API-Key": "k"}).status_code == 422
    assert client.post("/v1/enrich", json={"texts": [1]}, headers={"X-API-Key": "k"}).status_code == 422
    assert client.post("/v1/enrich", json={"texts": ["x"]}).status_code == 401
