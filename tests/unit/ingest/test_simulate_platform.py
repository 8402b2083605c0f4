"""``scrm simulate``: JSON lines of SocialEvents, or the platforms' own payloads that the real adapters
verify and read back: signed webhook requests through the connectors file it writes, API pages through
the pollers' adapters, everything else as SocialEvent lines."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

from ingest.adapters.base import WebhookRequest
from ingest.codec import decode_event
from ingest.connectors import Connector, PollConnector, load_connectors
from scrm.cli import main

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def test_jsonl_writes_one_valid_event_per_line(tmp_path):
    out = tmp_path / "events.jsonl"
    assert main(["simulate", "--out", str(out), "--events", "300"]) == 0
    lines = out.read_bytes().splitlines()
    assert len(lines) == 300 and len({decode_event(line).event_id for line in lines}) == 300


def test_platform_payloads_verify_and_read_back_through_every_adapter(tmp_path):
    out = tmp_path / "native.jsonl"
    assert main(["simulate", "--out", str(out), "--format", "platform", "--events", "4000", "--seed", "3"]) == 0
    connectors = load_connectors(tmp_path / "native.jsonl.connectors.toml", {})
    read: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    for line in out.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        kinds[item["kind"]] += 1
        if item["kind"] == "webhook":
            connector = connectors[item["connector"]]
            assert isinstance(connector, Connector)
            delivery = connector.handle(WebhookRequest(item["method"], item["query"], item["headers"],
                                                       item["body"].encode("utf-8"),
                                                       datetime.fromisoformat(item["sent_at"])))
            assert delivery.events, item["platform"]
            read[item["platform"]] += len(delivery.events)
        elif item["kind"] == "page":
            connector = connectors[item["connector"]]
            assert isinstance(connector, PollConnector)
            endpoint = next(e for e in connector.poller().endpoints if e.name == item["endpoint"])
            result = endpoint.read(item["page"], NOW)
            assert not result.invalid
            read[item["platform"]] += len(result.events)
        else:
            decode_event(json.dumps(item["event"]).encode())
    assert {"wechat", "facebook", "douyin", "x", "reddit", "youtube", "weibo"} <= set(read), read
    assert kinds["event"] > 0 and kinds["webhook"] > 0 and kinds["page"] > 0
