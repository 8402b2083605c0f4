"""Generic ingest (``POST /v1/ingest/events``): a JSON array or JSON lines of ``SocialEvent`` v1 objects, judged
item by item. The shape is this project's own contract (``ingest.contracts.SocialEvent``, documented in
docs/connectors.md); JSON lines as defined by "JSON Lines", https://jsonlines.org/.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from ingest.adapters.generic import MAX_EVENTS, Accepted, Rejected, parse_events
from ingest.contracts import MAX_RAW_BYTES, EventKind
from ingest.exceptions import BatchTooLarge, InvalidEvent


def event(n: int, **overrides: Any) -> dict[str, Any]:
    base = {
        "event_id": f"crm-{n}",
        "platform": "x",
        "kind": "mention",
        "occurred_at": "2026-11-23T08:00:00+08:00",
        "received_at": "2026-11-23T08:00:01+08:00",
        "author": {"id": f"user-{n}", "handle": f"@user{n}"},
        "brand": "acme",
        "text": "acme support is great",
        "source": "crm-export",
        "raw": {"id": n},
    }
    return {**base, **overrides}


def jsonl(*items: Any) -> bytes:
    return (
        b"\n".join(item if isinstance(item, bytes) else json.dumps(item).encode() for item in items) + b"\n"
    )


def test_a_json_array_is_accepted_item_by_item() -> None:
    batch = parse_events(json.dumps([event(1), event(2)]).encode())
    assert [e.event_id for e in batch.accepted] == ["crm-1", "crm-2"]
    assert batch.rejected == ()
    assert batch.accepted[0].kind == EventKind.MENTION and batch.accepted[0].identity_key == "x:user-1"


def test_json_lines_are_accepted_line_by_line_with_crlf_and_blank_lines() -> None:
    body = json.dumps(event(1)).encode() + b"\r\n\r\n" + json.dumps(event(2)).encode()
    batch = parse_events(body)
    assert [(o.line, o.event.event_id) for o in batch.outcomes if isinstance(o, Accepted)] == [
        (1, "crm-1"),
        (3, "crm-2"),
    ]


def test_the_first_non_space_byte_decides_the_shape() -> None:
    assert len(parse_events(b"\n  \t" + json.dumps([event(1)]).encode()).accepted) == 1
    assert (
        len(parse_events(b"\xef\xbb\xbf" + jsonl(event(1))).accepted) == 1
    )  # a byte-order mark is tolerated


def test_bad_json_lines_are_rejected_with_line_field_reason_and_their_bytes() -> None:
    naive = event(2, occurred_at="2026-11-23T08:00:00")
    body = jsonl(event(1), b"{not json", naive, [1, 2], b"\xff\xfe", event(6, kind="retweet"))
    batch = parse_events(body)
    assert [e.event_id for e in batch.accepted] == ["crm-1"]
    rejected = {r.line: r for r in batch.rejected}
    assert sorted(rejected) == [2, 3, 4, 5, 6]
    assert rejected[2].field == "<payload>" and rejected[2].reason.startswith("not JSON")
    assert rejected[2].original == b"{not json"
    assert rejected[3].field == "occurred_at" and "timezone" in rejected[3].reason
    assert json.loads(rejected[3].original) == naive
    assert rejected[4].reason == "expected a JSON object, got list"
    assert rejected[5].reason.startswith("not valid UTF-8")
    assert rejected[6].field == "kind" and "retweet" in rejected[6].reason
    assert [type(o) for o in batch.outcomes] == [Accepted, Rejected, Rejected, Rejected, Rejected, Rejected]


def test_bad_array_elements_are_rejected_with_their_exact_bytes() -> None:
    body = b'[\n  {"event_id": "x"},\n  ' + json.dumps(event(2)).encode() + b',\n  "just text" ]'
    batch = parse_events(body)
    assert [e.event_id for e in batch.accepted] == ["crm-2"]
    first, last = batch.rejected
    assert (first.line, first.original) == (1, b'{"event_id": "x"}')
    assert first.field in {"platform", "kind", "occurred_at", "author", "source"}
    assert (last.line, last.original, last.reason) == (3, b'"just text"', "expected a JSON object, got str")


def test_the_same_event_twice_is_accepted_twice_downstream_deduplicates() -> None:
    assert [e.event_id for e in parse_events(jsonl(event(1), event(1))).accepted] == ["crm-1", "crm-1"]


@pytest.mark.parametrize(
    "body",
    [b"", b"   \n", b"[", b'[{"a": 1},]', b'[{"a": 1}] trailing', b'[{"a": 1} {"b": 2}]', b"[\xff]"],
)
def test_a_body_whose_framing_is_broken_is_invalid_as_a_whole(body: bytes) -> None:
    with pytest.raises(InvalidEvent) as invalid:
        parse_events(body)
    assert invalid.value.field == "<payload>"


def test_an_empty_array_is_an_empty_batch() -> None:
    assert parse_events(b"[ ]").outcomes == ()


def test_more_items_than_the_cap_are_refused_before_any_is_judged() -> None:
    assert MAX_EVENTS == 10_000
    with pytest.raises(BatchTooLarge):
        parse_events(jsonl(event(1), event(2), event(3)), max_events=2)
    with pytest.raises(BatchTooLarge):
        parse_events(json.dumps([event(1), event(2), event(3)]).encode(), max_events=2)
    assert (
        len(parse_events(jsonl(event(1), b"", event(2)), max_events=2).accepted) == 2
    )  # blank lines don't count


def test_an_event_whose_raw_is_over_256_kib_is_rejected_not_truncated() -> None:
    big = event(1, raw={"blob": "x" * (MAX_RAW_BYTES + 1)})
    (rejected,) = parse_events(jsonl(big, event(2))).rejected
    assert (rejected.line, rejected.field) == (1, "raw")
    assert json.loads(rejected.original) == big
