"""The ``csv`` and ``jsonl`` importers and the streaming readers under them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from ingest.contracts import EventKind, Platform
from ingest.importers import IMPORTERS, importer, readers
from ingest.importers.base import ImportOptions, UnreadableFile
from ingest.importers.csv_columns import load_mapping
from ingest.importers.csv_columns import read as read_csv
from ingest.importers.jsonl import read as read_jsonl_file

RECEIVED = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
OPTIONS = ImportOptions(received_at=RECEIVED)


def _write(path: Path, text: str, *, bom: bool = False) -> Path:
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def test_every_format_is_registered_once_by_name():
    assert [i.name for i in IMPORTERS] == ["jsonl", "csv", "mediacrawler"]
    assert importer("csv").name == "csv"
    with pytest.raises(KeyError):
        importer("xlsx")


def test_csv_whose_header_names_fields_with_dotted_nested_ones(tmp_path):
    path = _write(tmp_path / "mentions.csv",
                  "event_id,platform,kind,occurred_at,author.id,author.display_name,metrics.likes,text,location\r\n"
                  "m-1,weibo,mention,2026-11-02T09:00:00+08:00,u-1,甲,7,\"hello, acme\",北京\r\n", bom=True)

    [outcome] = list(read_csv(path, OPTIONS))

    event = outcome.event
    assert event is not None
    assert (event.event_id, event.platform, event.kind) == ("m-1", Platform.WEIBO, EventKind.MENTION)
    assert event.occurred_at == datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
    assert (event.author.id, event.author.display_name, event.metrics.likes) == ("u-1", "甲", 7)
    assert (event.text, event.location) == ("hello, acme", "北京")
    assert event.source == "import:csv:mentions.csv"
    assert event.raw is not None and event.raw["author.id"] == "u-1"


def test_csv_with_a_mapping_file_renames_columns_fills_defaults_and_reads_local_times(tmp_path):
    mapping = _write(tmp_path / "crm.toml", '''
timezone = "Asia/Shanghai"
[columns]
"评论ID" = "event_id"
"用户ID" = "author.id"
"评论内容" = "text"
"点赞" = "metrics.likes"
"时间" = "occurred_at"
"备注" = ""
[defaults]
platform = "bilibili"
kind = "comment"
''')
    path = _write(tmp_path / "export.csv", "评论ID,用户ID,评论内容,点赞,时间,备注\nc-9,1024,不错,3,2026-11-02 09:00:00,内部\n")
    options = ImportOptions(received_at=RECEIVED, mapping=load_mapping(mapping), brand="acme")

    [outcome] = list(read_csv(path, options))

    event = outcome.event
    assert event is not None, outcome.error
    assert (event.platform, event.kind, event.event_id, event.author.id) == (Platform.BILIBILI, EventKind.COMMENT, "c-9", "1024")
    assert event.occurred_at.utcoffset() == timedelta(hours=8)
    assert event.occurred_at == datetime(2026, 11, 2, 9, 0, tzinfo=timezone(timedelta(hours=8)))
    assert (event.text, event.metrics.likes, event.brand) == ("不错", 3, "acme")
    assert event.raw is not None and event.raw["备注"] == "内部"  # kept in raw only


def test_csv_bad_row_is_dead_lettered_with_the_field_and_the_row_and_the_rest_imports(tmp_path):
    path = _write(tmp_path / "e.csv", "event_id,platform,kind,occurred_at,author.id,metrics.likes\n"
                                      "a,weibo,post,2026-11-02T09:00:00Z,u-1,many\n"
                                      "b,weibo,post,2026-11-02T09:00:00,u-1,1\n"
                                      "c,weibo,post,1762074000,u-1,2\n")

    first, naive, epoch = list(read_csv(path, OPTIONS))

    assert first.error is not None and first.error.field == "metrics.likes"
    assert json.loads(first.original) == {"event_id": "a", "platform": "weibo", "kind": "post",
                                          "occurred_at": "2026-11-02T09:00:00Z", "author.id": "u-1", "metrics.likes": "many"}
    assert naive.error is not None and naive.error.field == "occurred_at"  # no offset, no timezone given
    assert epoch.event is not None and epoch.event.occurred_at == datetime.fromtimestamp(1762074000, UTC)


def test_csv_header_that_names_no_field_or_lacks_a_required_one_refuses_the_file(tmp_path):
    typo = _write(tmp_path / "typo.csv", "event_id,platform,kind,occurred_at,autor.id\n1,weibo,post,1762074000,u\n")
    with pytest.raises(UnreadableFile, match="autor.id"):
        list(read_csv(typo, OPTIONS))
    short = _write(tmp_path / "short.csv", "event_id,kind,occurred_at,author.id\n1,post,1762074000,u\n")
    with pytest.raises(UnreadableFile, match="platform"):
        list(read_csv(short, OPTIONS))
    assert [o.event.platform for o in read_csv(short, ImportOptions(received_at=RECEIVED, platform=Platform.ZHIHU))
            if o.event] == [Platform.ZHIHU]  # --platform is a default


def test_mapping_file_naming_no_field_is_refused(tmp_path):
    with pytest.raises(ValueError, match="metrics.like"):
        load_mapping(_write(tmp_path / "m.toml", '[columns]\n"likes" = "metrics.like"\n'))


def test_jsonl_lines_become_events_named_after_the_import_and_a_bad_line_a_dead_letter(tmp_path, event_factory):
    good = event_factory(event_id="e-1", received_at=None, brand=None)
    path = _write(tmp_path / "events.jsonl", json.dumps(good) + "\n\n{not json\n")

    event_outcome, bad = list(read_jsonl_file(path, ImportOptions(received_at=RECEIVED, brand="acme")))

    event = event_outcome.event
    assert event is not None
    assert (event.event_id, event.source, event.brand, event.received_at) == ("e-1", "import:jsonl:events.jsonl", "acme", RECEIVED)
    assert bad.error is not None and bad.number == 2 and bad.original == b"{not json"


def test_json_array_is_read_element_by_element_across_chunk_boundaries(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "CHUNK_CHARS", 7)  # every element and number spans several reads
    items = [{"n": 1234567890123, "text": "头" * 20}, {"n": 2}, [3], 4.5]
    path = _write(tmp_path / "a.json", json.dumps(items, ensure_ascii=False, indent=4), bom=True)

    records = list(readers.json_array_records(path))

    assert [r.value for r in records] == items
    assert [r.number for r in records] == [1, 2, 3, 4]
    assert json.loads(records[0].original) == items[0]


def test_json_array_that_breaks_off_ends_with_one_error_record(tmp_path):
    path = _write(tmp_path / "cut.json", '[{"a": 1}, {"b": 2}, {"c": ')

    records = list(readers.json_array_records(path))

    assert [r.value for r in records[:2]] == [{"a": 1}, {"b": 2}]
    assert records[2].error is not None and records[2].number == 3 and records[2].original == b'{"c": '
