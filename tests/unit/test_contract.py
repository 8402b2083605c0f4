"""The SocialEvent v1 wire contract: what round-trips, what is refused and how the refusal is named."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from ingest.codec import decode_event, encode_event, event_from_dict
from ingest.contracts import (
    MAX_EVENT_KEY_CHARS,
    MAX_RAW_BYTES,
    MAX_TEXT_CHARS,
    EventKind,
    Platform,
    SocialEvent,
    event_key,
)
from ingest.exceptions import InvalidEvent


def _decode_error(data: bytes | str) -> InvalidEvent:
    with pytest.raises(InvalidEvent) as info:
        decode_event(data)
    return info.value


def _wire(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def test_valid_event_round_trips_through_encode_and_decode_unchanged(event_factory):
    event = event_from_dict(
        event_factory(
            platform="wechat",
            kind="comment",
            occurred_at="2026-11-23T08:00:00+08:00",
            author={"id": "wx-9", "followers": 1234, "verified": True},
            url="https://example.com/p/1",
            parent_id="p-0",
            thread_id="t-0",
            lang="en",
            metrics={"likes": 3, "shares": 2, "replies": 1},
            identity_hints={
                "email": "a@example.com",
                "phone": "+8613800000000",
                "wechat_unionid": "un-1",
                "crm_id": "crm-7",
            },
            raw={"nested": {"list": [1, 2, 3]}, "flag": True},
        )
    )

    decoded = decode_event(encode_event(event))

    assert decoded == event
    assert decoded.occurred_at.utcoffset() == event.occurred_at.utcoffset()


def test_decode_accepts_str_as_well_as_bytes(event_factory):
    payload = event_factory()
    assert decode_event(json.dumps(payload)) == decode_event(_wire(payload))


@pytest.mark.parametrize(
    "text",
    [
        "這個產品質量很好，客服服務也讚",  # Traditional Chinese
        "这个产品质量很好，客服服务也赞",  # Simplified Chinese
        "love it 😍🔥👍🏽 家人们👨‍👩‍👧",  # emoji incl. skin tone and ZWJ sequence
    ],
    ids=["traditional", "simplified", "emoji"],
)
def test_chinese_and_emoji_text_round_trips_exactly(event_factory, text):
    event = event_from_dict(event_factory(text=text, author={"display_name": text[:10]}))

    wire = encode_event(event)
    decoded = decode_event(wire)

    assert decoded.text == text
    assert decoded.author.display_name == text[:10]
    assert text in wire.decode("utf-8")  # UTF-8 on the wire, not \u escapes


def test_wire_format_carries_exactly_the_documented_field_names(event_factory):
    wire = json.loads(encode_event(event_from_dict(event_factory())))

    expected_top = {
        "event_id",
        "platform",
        "kind",
        "occurred_at",
        "received_at",
        "author",
        "brand",
        "text",
        "lang",
        "url",
        "parent_id",
        "thread_id",
        "metrics",
        "identity_hints",
        "source",
        "raw",
    }
    assert expected_top <= set(wire)
    assert set(wire) - expected_top <= {"schema_version"}
    assert set(wire["author"]) == {"id", "handle", "display_name", "followers", "verified"}
    assert set(wire["metrics"]) == {"likes", "shares", "replies"}
    assert set(wire["identity_hints"]) == {"email", "phone", "wechat_unionid", "crm_id"}


def test_wire_format_writes_enums_as_their_lowercase_names(event_factory):
    wire = json.loads(
        encode_event(event_from_dict(event_factory(platform="xiaohongshu", kind="chat_message")))
    )
    assert wire["platform"] == "xiaohongshu"
    assert wire["kind"] == "chat_message"


def test_every_platform_and_kind_is_accepted(event_factory):
    for platform in Platform:
        for kind in EventKind:
            event = decode_event(_wire(event_factory(platform=platform.value, kind=kind.value)))
            assert (event.platform, event.kind) == (platform, kind)


def test_wrong_type_names_the_nested_field(event_factory):
    error = _decode_error(_wire(event_factory(author={"followers": "many"})))
    assert error.field == "author.followers"
    assert "integer" in error.reason


def test_unknown_kind_is_refused_listing_the_allowed_values(event_factory):
    error = _decode_error(_wire(event_factory(kind="poke")))
    assert error.field == "kind"
    assert "'poke'" in error.reason
    assert "'post'" in error.reason


def test_unknown_platform_is_refused_listing_the_allowed_values(event_factory):
    error = _decode_error(_wire(event_factory(platform="myspace")))
    assert error.field == "platform"
    assert "'myspace'" in error.reason
    assert "'weibo'" in error.reason


@pytest.mark.parametrize("field", ["occurred_at", "received_at"])
def test_naive_datetime_is_refused_asking_for_an_offset(event_factory, field):
    error = _decode_error(_wire(event_factory(**{field: "2026-11-23T08:00:00"})))
    assert error.field == field
    assert "timezone" in error.reason


def test_text_at_the_limit_is_accepted_and_one_more_char_is_refused(event_factory):
    assert len(decode_event(_wire(event_factory(text="好" * MAX_TEXT_CHARS))).text) == MAX_TEXT_CHARS

    error = _decode_error(_wire(event_factory(text="好" * (MAX_TEXT_CHARS + 1))))
    assert error.field == "text"
    assert "20000" in error.reason


def test_raw_over_256_kib_is_refused_with_its_size(event_factory):
    error = _decode_error(_wire(event_factory(raw={"blob": "x" * MAX_RAW_BYTES})))
    assert error.field == "raw"
    assert str(MAX_RAW_BYTES) in error.reason


def test_raw_just_under_the_limit_is_accepted(event_factory):
    blob = "x" * (MAX_RAW_BYTES - 100)
    assert decode_event(_wire(event_factory(raw={"blob": blob}))).raw == {"blob": blob}


def test_bad_utf8_bytes_are_refused_with_the_byte_offset(event_factory):
    good = _wire(event_factory(text="ok"))
    bad = good.replace(b'"ok"', b'"o\xffk"')
    position = bad.index(b"\xff")
    error = _decode_error(bad)
    assert error.field == "<payload>"
    assert "UTF-8" in error.reason
    assert f"byte {position}" in error.reason


def test_non_json_is_refused_as_not_json():
    error = _decode_error(b"{event_id: 1")
    assert error.field == "<payload>"
    assert error.reason.startswith("not JSON")


@pytest.mark.parametrize(
    ("payload", "type_name"), [(b"[1, 2]", "list"), (b'"text"', "str"), (b"42", "int"), (b"null", "NoneType")]
)
def test_json_that_is_not_an_object_is_refused(payload, type_name):
    error = _decode_error(payload)
    assert error.field == "<payload>"
    assert error.reason == f"expected a JSON object, got {type_name}"


@pytest.mark.parametrize("missing", ["event_id", "platform", "kind", "occurred_at", "author", "source"])
def test_missing_required_field_is_named(event_factory, missing):
    payload = event_factory()
    del payload[missing]
    error = _decode_error(_wire(payload))
    assert error.field == missing
    assert "required" in error.reason.lower()


def test_missing_author_id_names_the_nested_path(event_factory):
    payload = event_factory()
    del payload["author"]["id"]
    assert _decode_error(_wire(payload)).field == "author.id"


def test_unknown_field_is_refused_by_name(event_factory):
    error = _decode_error(_wire(event_factory(colour="red")))
    assert error.field == "colour"
    assert error.reason == "unknown field"


def test_negative_metrics_are_refused(event_factory):
    assert _decode_error(_wire(event_factory(metrics={"likes": -1}))).field == "metrics.likes"


def test_invalid_event_message_combines_field_and_reason(event_factory):
    error = _decode_error(_wire(event_factory(kind="poke")))
    assert str(error) == f"kind: {error.reason}"
    assert isinstance(error, ValueError)


@pytest.mark.parametrize("absent", ["missing", "null"])
def test_an_event_without_received_at_gets_the_receive_time_it_is_decoded_with(event_factory, absent):
    """Outside producers cannot know when the intake received their event: it stamps its own clock."""
    payload = event_factory(occurred_at="2026-11-23T08:00:00+08:00")
    if absent == "missing":
        del payload["received_at"]
    else:
        payload["received_at"] = None
    received = datetime(2026, 11, 23, 1, 0, 5, tzinfo=UTC)
    event = decode_event(_wire(payload), received_at=received)
    assert event.received_at == received
    assert event.occurred_at == datetime(2026, 11, 23, 0, 0, tzinfo=UTC)


def test_a_received_at_on_the_wire_is_kept_over_the_decoding_time(event_factory):
    payload = event_factory(received_at="2026-11-23T08:00:09+08:00")
    event = decode_event(_wire(payload), received_at=datetime(2030, 1, 1, tzinfo=UTC))
    assert event.received_at.isoformat() == "2026-11-23T08:00:09+08:00"


def test_without_a_receive_time_given_decoding_stamps_the_current_time(event_factory):
    payload = event_factory()
    del payload["received_at"]
    before = datetime.now(UTC)
    event = decode_event(_wire(payload))
    assert before <= event.received_at <= datetime.now(UTC)


def test_event_key_names_platform_author_and_event_id(event_factory):
    event = event_from_dict(event_factory(platform="douyin", event_id="d-7", author={"id": "u-1"}))
    assert event.event_key == "douyin:u-1/d-7"
    assert event.post_key == "douyin:d-7"


@pytest.mark.parametrize(("first", "second"), [
    (("a/b", "c"), ("a", "b/c")),
    (("a", "b#m0"), ("a", "b")),
    (("a:b", "c"), ("a", "b:c")),
    (("a%2Fb", "c"), ("a/b", "c")),
])
def test_event_keys_of_different_events_differ_whatever_separators_their_ids_hold(first, second):
    assert event_key("weibo", *first) != event_key("weibo", *second)
    assert "#" not in event_key("weibo", *first) + event_key("weibo", *second)


def test_an_overlong_event_key_is_hashed_to_fit_and_stays_distinct():
    """Ids of 256 and 512 characters (non-ASCII ones encode to nine characters each) would make keys far
    longer than the columns that store them."""
    longest = event_key("xiaohongshu", "用" * 256, "户" * 512)
    other = event_key("xiaohongshu", "用" * 256, "户" * 511 + "x")
    assert len(longest) <= MAX_EVENT_KEY_CHARS and len(other) <= MAX_EVENT_KEY_CHARS
    assert longest.startswith("xiaohongshu:#") and longest != other
    assert event_key("weibo", "a" * 200, "b" * 300) == f"weibo:{'a' * 200}/{'b' * 300}"


def test_identity_key_is_platform_and_author_id(event_factory):
    event = event_from_dict(event_factory(platform="douyin", author={"id": "42"}))
    assert event.identity_key == "douyin:42"


def test_events_are_frozen(event_factory):
    event = event_from_dict(event_factory())
    with pytest.raises(ValueError):
        event.text = "changed"  # type: ignore[misc]
    assert isinstance(event, SocialEvent)


def test_deeply_nested_json_is_refused_as_invalid_event():
    error = _decode_error(b"[" * 100_000)
    assert error.field == "<payload>"


def test_bilibili_and_kuaishou_events_are_accepted_and_keyed_like_any_platform(event_factory):
    for platform in ("bilibili", "kuaishou"):
        event = decode_event(_wire(event_factory(platform=platform, author={"id": "1024"}, event_id="c-1")))
        assert event.platform.value == platform
        assert event.event_key == f"{platform}:1024/c-1"


def test_location_round_trips_and_an_event_without_one_is_the_same_bytes_as_before(event_factory):
    wire = event_factory()
    without = encode_event(decode_event(_wire(wire)))
    assert "location" not in json.loads(without)  # absent, never null: a consumer predating the field reads it

    located = decode_event(_wire({**wire, "location": "广东"}))
    assert located.location == "广东"
    assert decode_event(encode_event(located)) == located
    assert json.loads(encode_event(located))["location"] == "广东"
    assert decode_event(_wire({**wire, "location": None})).location is None


def test_location_over_128_characters_is_refused_naming_the_field(event_factory):
    error = _decode_error(_wire(event_factory(location="地" * 129)))
    assert error.field == "location"
