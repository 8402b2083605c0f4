"""The ``mediacrawler`` importer on files in the exact shape MediaCrawler (github.com/NanmiCoder/MediaCrawler)
writes them.

The fixtures under ``fixtures/mediacrawler/data/<platform>/<json|jsonl|csv>/`` hold the records that the
store functions of MediaCrawler build, as its ``tools/async_file_writer.py`` writes them (``json``: one
array, ``indent=4``, ``ensure_ascii=False``; ``jsonl``: one ``json.dumps`` per line; ``csv``: ``DictWriter``,
``utf-8-sig``, header once; file ``<crawler>_<item>_<date>.<ext>``). Sources read (commit d6f7c5b, 2026-08,
and its history before 9f4f8bf, the 2026-07 change to ``creator_hash``):
- xhs: ``store/xhs/__init__.py`` ``update_xhs_note`` / ``update_xhs_note_comment`` (pre-2026-07: user_id,
  ip_location; ``time`` and ``create_time`` in ms; ``parent_comment_id`` from ``target_comment.id``, 0 at top);
- douyin: ``store/douyin/__init__.py`` ``update_douyin_aweme`` / ``update_dy_aweme_comment`` (2026-08:
  creator_hash, masked nickname; ``parent_comment_id`` = ``reply_id``, ``"0"`` at top), csv store;
- weibo: ``store/weibo/__init__.py`` ``update_weibo_note`` / ``update_weibo_note_comment`` (jsonl store;
  ``parent_comment_id`` = ``rootid``, its own id for a top-level comment);
- bilibili: ``store/bilibili/__init__.py`` ``update_bilibili_video`` / ``update_bilibili_video_comment``
  (``store/bilibili/_store_impl.py``: the csv store names contents ``videos``);
- kuaishou: ``store/kuaishou/__init__.py`` ``update_kuaishou_video`` / ``update_ks_video_comment`` (2026-08);
- zhihu: ``model/m_zhihu.py`` ``ZhihuContent`` / ``ZhihuComment`` (pre-2026-07: user_id, user_url_token,
  ``ip_location`` as "IP 属地湖北").
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.contracts import EventKind, Platform, SocialEvent
from ingest.importers.base import ImportOptions, RowOutcome, UnreadableFile, import_dead_letter
from ingest.importers.mediacrawler import map_record, platform_of, read
from ingest.importers.mediacrawler_shapes import BY_NAME
from ingest.importers.readers import Record

DATA = Path(__file__).parent / "fixtures" / "mediacrawler" / "data"
RECEIVED = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
OPTIONS = ImportOptions(received_at=RECEIVED, brand="acme")


def _outcomes(relative: str, options: ImportOptions = OPTIONS) -> list[RowOutcome]:
    return list(read(DATA / relative, options))


def _events(relative: str) -> dict[str, SocialEvent]:
    outcomes = _outcomes(relative)
    assert all(o.event is not None for o in outcomes), [o.error for o in outcomes if o.error]
    return {o.event.event_id: o.event for o in outcomes if o.event is not None}


def test_xiaohongshu_notes_become_posts_with_counts_location_and_a_url_without_the_session_token():
    notes = _events("xhs/json/search_contents_2024-06-01.json")

    note = notes["6650a1b2000000001e03c0d1"]
    assert (note.platform, note.kind, note.author.id) == (Platform.XIAOHONGSHU, EventKind.POST, "5f1a2b3c000000000101d8e2")
    assert note.author.display_name == "小红薯A1B2"
    assert note.occurred_at == datetime(2024, 5, 24, 12, 20, tzinfo=UTC)  # "time" is milliseconds
    assert note.text == "Acme 面霜真的好用吗？用了两周，说说感受 #护肤[话题]#"  # the title only repeats the start
    assert (note.metrics.likes, note.metrics.replies, note.metrics.shares) == (12_000, 89, 12)  # "1.2万"
    assert note.location == "上海"
    assert note.url == "https://www.xiaohongshu.com/explore/6650a1b2000000001e03c0d1"
    assert "xsec_token" not in note.url
    assert note.source == "import:mediacrawler:search_contents_2024-06-01.json"
    assert note.brand == "acme" and note.received_at == RECEIVED
    assert note.raw is not None and note.raw["source_keyword"] == "acme"  # the record, whole
    assert notes["6650a1b2000000001e03c0d2"].metrics.likes == 100_000  # "10万+"
    assert notes["6650a1b2000000001e03c0d2"].location is None  # "" is no location


def test_xiaohongshu_sub_comments_are_replies_to_the_comment_they_answer():
    comments = _events("xhs/json/search_comments_2024-06-01.json")

    top = comments["6650b0000000000003011a01"]
    assert top.kind is EventKind.COMMENT  # parent_comment_id 0
    assert (top.parent_id, top.thread_id) == ("6650a1b2000000001e03c0d1", "6650a1b2000000001e03c0d1")
    assert (top.metrics.likes, top.metrics.replies, top.location) == (23, 1, "广东")
    reply = comments["6650b0000000000003011a02"]
    assert reply.kind is EventKind.REPLY
    assert (reply.parent_id, reply.thread_id) == ("6650b0000000000003011a01", "6650a1b2000000001e03c0d1")


def test_douyin_csv_of_the_anonymising_release_keys_authors_by_creator_hash_and_dead_letters_a_row_without_time():
    videos = _events("douyin/csv/search_contents_2026-08-01.csv")
    video = videos["7380000000000000001"]
    assert video.platform is Platform.DOUYIN and video.kind is EventKind.POST
    assert video.author.id == "creator_hash:9f86d081884c7d65"
    assert video.author.display_name == "测***家"
    assert video.occurred_at == datetime.fromtimestamp(1754000000, UTC)  # seconds
    assert video.text == "Acme 扫地机测评"  # title == desc: once
    assert (video.metrics.likes, video.metrics.shares, video.metrics.replies) == (5321, 47, 88)
    assert video.url == "https://www.douyin.com/video/7380000000000000001"

    comments = _outcomes("douyin/csv/search_comments_2026-08-01.csv")
    assert [o.event.kind for o in comments[:2] if o.event] == [EventKind.COMMENT, EventKind.REPLY]
    assert comments[1].event is not None and comments[1].event.parent_id == "7380000000000000101"
    bad = comments[2]
    assert bad.event is None and bad.error is not None
    assert bad.error.field == "create_time"
    assert json.loads(bad.original)["comment_id"] == "7380000000000000103"  # the record, column -> cell


def test_weibo_jsonl_comment_whose_root_is_itself_is_a_comment_and_its_sub_comment_a_reply():
    post = _events("weibo/jsonl/search_contents_2026-03-10.jsonl")["5012345678901234"]
    assert (post.kind, post.author.id, post.location) == (EventKind.POST, "1234567890", "江苏")
    assert (post.metrics.likes, post.metrics.replies, post.metrics.shares) == (15, 2, 1)

    comments = _events("weibo/jsonl/search_comments_2026-03-10.jsonl")
    assert comments["5012345678905001"].kind is EventKind.COMMENT
    assert comments["5012345678905001"].metrics.likes == 3  # comment_like_count
    assert comments["5012345678905002"].kind is EventKind.REPLY
    assert comments["5012345678905002"].parent_id == "5012345678905001"


def test_bilibili_videos_csv_and_comments_json_with_numeric_user_ids():
    video = _events("bili/csv/search_videos_2025-10-01.csv")["113000000000001"]
    assert (video.platform, video.kind, video.author.id) == (Platform.BILIBILI, EventKind.POST, "423895")
    assert video.text == "Acme 耳机拆解\n拆开看看做工"
    assert (video.metrics.likes, video.metrics.shares, video.metrics.replies) == (2401, 120, 45)

    comments = _events("bili/json/search_comments_2025-10-01.json")
    assert comments["250000000001"].author.id == "10001"  # an integer in the JSON
    assert comments["250000000001"].kind is EventKind.COMMENT  # parent "0"
    assert comments["250000000002"].kind is EventKind.REPLY
    assert comments["250000000002"].parent_id == "250000000001"


def test_kuaishou_counts_in_w_and_millisecond_times():
    video = _events("kuaishou/json/search_contents_2026-08-01.json")["3xabcdefghijk12"]
    assert (video.platform, video.metrics.likes) == (Platform.KUAISHOU, 15_000)  # "1.5w"
    assert video.occurred_at == datetime.fromtimestamp(1754000000, UTC)
    comment = _events("kuaishou/json/search_comments_2026-08-01.json")["880000000001"]
    assert (comment.kind, comment.parent_id, comment.author.id) == (
        EventKind.COMMENT, "3xabcdefghijk12", "creator_hash:a665a45920422f9d")


def test_zhihu_answers_carry_the_question_title_and_the_url_token_as_handle():
    answer = _events("zhihu/json/search_contents_2025-05-01.json")["3300000001"]
    assert answer.kind is EventKind.POST
    assert answer.text == "Acme 耳机值得买吗？\n用了半年，降噪一般，续航很好。"
    assert (answer.author.handle, answer.metrics.likes) == ("zhi-hu-er", 321)

    comments = _events("zhihu/json/search_comments_2025-05-01.json")
    assert comments["10900000001"].location == "湖北"  # "IP 属地湖北"
    assert comments["10900000002"].kind is EventKind.REPLY


def test_creator_files_are_skipped_with_the_reason_not_dead_lettered():
    outcomes = _outcomes("xhs/json/creator_creators_2024-06-01.json")
    assert [o.skipped for o in outcomes] == ["a creator's profile, not an interaction"]


def test_importing_the_same_file_twice_gives_the_same_events():
    first = _outcomes("xhs/json/search_comments_2024-06-01.json")
    again = _outcomes("xhs/json/search_comments_2024-06-01.json")
    assert [o.event.event_key for o in first if o.event] == [o.event.event_key for o in again if o.event]


def test_platform_comes_from_the_path_or_the_option_and_a_file_with_neither_is_refused(tmp_path):
    assert platform_of(DATA / "bili/json/search_comments_2025-10-01.json", OPTIONS).platform is Platform.BILIBILI
    loose = tmp_path / "search_comments_2024-06-01.json"
    loose.write_bytes((DATA / "xhs/json/search_comments_2024-06-01.json").read_bytes())
    with pytest.raises(UnreadableFile, match="--platform"):
        list(read(loose, OPTIONS))
    option = ImportOptions(received_at=RECEIVED, platform=Platform.XIAOHONGSHU)
    assert [o.event.platform for o in read(loose, option) if o.event] == [Platform.XIAOHONGSHU] * 3


def test_a_record_without_author_is_dead_lettered_with_its_bytes_and_row_number():
    record = Record(7, b'{"comment_id": "c1", "note_id": "n1", "create_time": 1716560000000}',
                    value={"comment_id": "c1", "note_id": "n1", "create_time": 1716560000000})
    outcome = map_record(record, BY_NAME["xhs"], "comments", source="import:mediacrawler:x.json", options=OPTIONS)

    assert outcome.error is not None and outcome.error.field == "user_id"
    letter = import_dead_letter(outcome, source="import:mediacrawler:x.json", at=RECEIVED)
    assert (letter.stage, letter.source_topic, letter.offset, letter.original) == (
        "import", "import:mediacrawler:x.json", 7, record.original)


def test_a_record_in_a_comments_file_without_comment_id_is_refused_not_taken_for_a_post():
    record = Record(1, b"{}", value={"note_id": "n1", "user_id": "u1", "time": 1716560000000})
    outcome = map_record(record, BY_NAME["xhs"], "comments", source="s", options=OPTIONS)
    assert outcome.error is not None and outcome.error.field == "comment_id"
