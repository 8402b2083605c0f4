"""The WeChat Official Account adapter on payloads in the shape of the platform's documentation.

Documentation (developers.weixin.qq.com, 公众号):
- 接入概述 (server verification GET), https://developers.weixin.qq.com/doc/offiaccount/Basic_Information/Access_Overview.html
- 接收普通消息, https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Receiving_standard_messages.html
- 接收事件推送, https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Receiving_event_pushes.html
- 消息加解密说明,
  https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Message_encryption_and_decryption_instructions.html
The XML bodies below are the documentation's examples (its placeholder values included).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from wechat_builders import (
    APP_ID,
    KEY,
    RANDOM16,
    T0,
    TOKEN,
    encrypted_post,
    plain_post,
    reference_encrypt,
    request,
    seal,
    stamp,
    wechat_config,
)

from ingest.adapters.base import SignatureRejected
from ingest.adapters.wechat import ACK, handle
from ingest.contracts import EventKind, Platform
from ingest.exceptions import InvalidEvent
from ingest.webhooks.wechat_crypto import signature

TEXT = """<xml>
  <ToUserName><![CDATA[toUser]]></ToUserName>
  <FromUserName><![CDATA[fromUser]]></FromUserName>
  <CreateTime>1348831860</CreateTime>
  <MsgType><![CDATA[text]]></MsgType>
  <Content><![CDATA[this is a test]]></Content>
  <MsgId>1234567890123456</MsgId>
</xml>"""

IMAGE = """<xml>
  <ToUserName><![CDATA[toUser]]></ToUserName>
  <FromUserName><![CDATA[fromUser]]></FromUserName>
  <CreateTime>1348831860</CreateTime>
  <MsgType><![CDATA[image]]></MsgType>
  <PicUrl><![CDATA[this is a url]]></PicUrl>
  <MediaId><![CDATA[media_id]]></MediaId>
  <MsgId>1234567890123456</MsgId>
</xml>"""

VOICE = """<xml>
  <ToUserName><![CDATA[toUser]]></ToUserName>
  <FromUserName><![CDATA[fromUser]]></FromUserName>
  <CreateTime>1357290913</CreateTime>
  <MsgType><![CDATA[voice]]></MsgType>
  <MediaId><![CDATA[media_id]]></MediaId>
  <Format><![CDATA[Format]]></Format>
  <MsgId>1234567890123456</MsgId>
</xml>"""

VOICE_RECOGNISED = """<xml>
  <ToUserName><![CDATA[toUser]]></ToUserName>
  <FromUserName><![CDATA[fromUser]]></FromUserName>
  <CreateTime>1357290913</CreateTime>
  <MsgType><![CDATA[voice]]></MsgType>
  <MediaId><![CDATA[media_id]]></MediaId>
  <Format><![CDATA[Format]]></Format>
  <Recognition><![CDATA[腾讯微信团队]]></Recognition>
  <MsgId>1234567890123456</MsgId>
</xml>"""

VIDEO = """<xml>
  <ToUserName><![CDATA[toUser]]></ToUserName>
  <FromUserName><![CDATA[fromUser]]></FromUserName>
  <CreateTime>1357290913</CreateTime>
  <MsgType><![CDATA[{kind}]]></MsgType>
  <MediaId><![CDATA[media_id]]></MediaId>
  <ThumbMediaId><![CDATA[thumb_media_id]]></ThumbMediaId>
  <MsgId>1234567890123456</MsgId>
</xml>"""

LOCATION = """<xml>
  <ToUserName><![CDATA[toUser]]></ToUserName>
  <FromUserName><![CDATA[fromUser]]></FromUserName>
  <CreateTime>1351776360</CreateTime>
  <MsgType><![CDATA[location]]></MsgType>
  <Location_X>23.134521</Location_X>
  <Location_Y>113.358803</Location_Y>
  <Scale>20</Scale>
  <Label><![CDATA[位置信息]]></Label>
  <MsgId>1234567890123456</MsgId>
</xml>"""

LINK = """<xml>
  <ToUserName><![CDATA[toUser]]></ToUserName>
  <FromUserName><![CDATA[fromUser]]></FromUserName>
  <CreateTime>1351776360</CreateTime>
  <MsgType><![CDATA[link]]></MsgType>
  <Title><![CDATA[公众平台官网链接]]></Title>
  <Description><![CDATA[公众平台官网链接]]></Description>
  <Url><![CDATA[url]]></Url>
  <MsgId>1234567890123456</MsgId>
</xml>"""

EVENT = """<xml>
  <ToUserName><![CDATA[toUser]]></ToUserName>
  <FromUserName><![CDATA[FromUser]]></FromUserName>
  <CreateTime>123456789</CreateTime>
  <MsgType><![CDATA[event]]></MsgType>
  <Event><![CDATA[{event}]]></Event>{extra}
</xml>"""

SAFE_ENVELOPE = """<xml>
  <ToUserName><![CDATA[toUser]]></ToUserName>
  <Encrypt><![CDATA[{ciphertext}]]></Encrypt>
</xml>"""


def event_xml(event: str, extra: str = "") -> str:
    return EVENT.format(event=event, extra=extra)


def test_the_server_verification_get_answers_the_echostr_when_the_signature_holds(oa_config):
    ts = stamp()
    query = {"signature": signature(TOKEN, ts, "nonce9"), "timestamp": ts, "nonce": "nonce9",
             "echostr": "5837397749776417163"}
    delivery = handle(request("GET", query), oa_config)
    assert delivery.reply.status == 200 and delivery.reply.body == b"5837397749776417163"
    assert delivery.events == () and delivery.skipped == ()


@pytest.mark.parametrize("damage", ["wrong", "missing", "stale", "other token"])
def test_a_verification_get_without_a_good_fresh_signature_is_refused_401(oa_config, damage):
    at = T0 - timedelta(minutes=6) if damage == "stale" else T0
    ts = stamp(at)
    token = "someone-else" if damage == "other token" else TOKEN
    query = {"signature": signature(token, ts, "n1"), "timestamp": ts, "nonce": "n1", "echostr": "42"}
    if damage == "wrong":
        query["signature"] = "0" * 40
    if damage == "missing":
        del query["signature"]
    with pytest.raises(SignatureRejected) as caught:
        handle(request("GET", query), oa_config)
    assert caught.value.status == 401 and TOKEN not in caught.value.reason


def test_a_text_message_becomes_a_chat_message_by_the_openid(oa_config):
    delivery = handle(plain_post(TEXT), oa_config)
    assert delivery.reply == ACK and delivery.reply.body == b"success" and delivery.skipped == ()
    (event,) = delivery.events
    assert event.platform is Platform.WECHAT and event.kind is EventKind.CHAT_MESSAGE
    assert event.event_id == "1234567890123456" and event.identity_key == "wechat:fromUser"
    assert event.text == "this is a test" and event.url is None
    assert event.occurred_at == datetime.fromtimestamp(1348831860, tz=UTC) and event.received_at == T0
    assert event.brand == "acme" and event.source == "wechat-oa-acme" and event.thread_id == "toUser:fromUser"
    assert event.raw is not None and event.raw["MsgId"] == "1234567890123456" and event.raw["MsgType"] == "text"


@pytest.mark.parametrize(
    ("xml", "text", "url"),
    [
        (IMAGE, None, "this is a url"),
        (VOICE, None, None),
        (VOICE_RECOGNISED, "腾讯微信团队", None),
        (VIDEO.format(kind="video"), None, None),
        (VIDEO.format(kind="shortvideo"), None, None),
        (LOCATION, "位置信息", None),
        (LINK, "公众平台官网链接\n公众平台官网链接", "url"),
    ],
    ids=["image", "voice", "voice-recognised", "video", "shortvideo", "location", "link"],
)
def test_every_documented_message_type_becomes_a_chat_message_with_what_it_shows(oa_config, xml, text, url):
    (event,) = handle(plain_post(xml), oa_config).events
    assert event.kind is EventKind.CHAT_MESSAGE and event.author.id == "fromUser"
    assert (event.text, event.url) == (text, url)
    assert event.event_id == "1234567890123456"


def test_media_ids_and_coordinates_stay_in_raw(oa_config):
    (video,) = handle(plain_post(VIDEO.format(kind="video")), oa_config).events
    (place,) = handle(plain_post(LOCATION), oa_config).events
    assert video.raw is not None and video.raw["ThumbMediaId"] == "thumb_media_id"
    assert place.raw is not None and (place.raw["Location_X"], place.raw["Location_Y"]) == ("23.134521", "113.358803")


def test_a_message_from_an_article_points_at_the_article():
    xml = TEXT.replace("</xml>", "<MsgDataId>2247483650</MsgDataId><Idx>1</Idx></xml>")
    (event,) = handle(plain_post(xml), wechat_config()).events
    assert event.parent_id == "2247483650"


@pytest.mark.parametrize(
    ("extra", "event_id"),
    [
        ("", "FromUser:123456789:subscribe"),
        ("<EventKey><![CDATA[qrscene_123123]]></EventKey><Ticket><![CDATA[TICKET]]></Ticket>",
         "FromUser:123456789:subscribe:qrscene_123123"),
    ],
    ids=["plain", "via-qr-code"],
)
def test_a_subscribe_event_is_a_follow(oa_config, extra, event_id):
    delivery = handle(plain_post(event_xml("subscribe", extra)), oa_config)
    (event,) = delivery.events
    assert event.kind is EventKind.FOLLOW and event.identity_key == "wechat:FromUser"
    assert event.event_id == event_id and event.text is None and event.thread_id is None
    assert event.occurred_at == datetime.fromtimestamp(123456789, tz=UTC) and delivery.reply == ACK


def test_an_unsubscribe_event_is_an_unfollow_by_the_openid(oa_config):
    delivery = handle(plain_post(event_xml("unsubscribe")), oa_config)
    (event,) = delivery.events
    assert event.kind is EventKind.UNFOLLOW and event.identity_key == "wechat:FromUser"
    assert event.event_id == "FromUser:123456789:unsubscribe" and delivery.reply == ACK


@pytest.mark.parametrize(
    ("event", "extra", "reason"),
    [
        ("SCAN", "<EventKey><![CDATA[SCENE_VALUE]]></EventKey><Ticket><![CDATA[TICKET]]></Ticket>", "QR code"),
        ("LOCATION", "<Latitude>23.137466</Latitude><Longitude>113.352425</Longitude>"
                     "<Precision>119.385040</Precision>", "location report"),
        ("CLICK", "<EventKey><![CDATA[EVENTKEY]]></EventKey>", "menu tap"),
        ("VIEW", "<EventKey><![CDATA[www.qq.com]]></EventKey>", "menu link"),
        ("TEMPLATESENDJOBFINISH", "<MsgID>200163836</MsgID><Status><![CDATA[success]]></Status>", "not map"),
    ],
)
def test_events_without_a_social_kind_are_skipped_with_a_reason_and_answered(oa_config, event, extra, reason):
    delivery = handle(plain_post(event_xml(event, extra)), oa_config)
    assert delivery.events == () and delivery.reply == ACK
    (skipped,) = delivery.skipped
    assert skipped.what == f"Event={event}" and reason in skipped.reason


def test_an_unknown_message_type_is_skipped(oa_config):
    delivery = handle(plain_post(TEXT.replace("[text]", "[miniprogrampage]")), oa_config)
    assert delivery.events == () and delivery.skipped[0].what == "MsgType=miniprogrampage"


def test_a_retried_message_or_event_is_the_same_event_id(oa_config):
    first = handle(plain_post(TEXT, nonce="111"), oa_config).events[0]
    again = handle(plain_post(TEXT, nonce="222", at=T0 + timedelta(seconds=5)), oa_config).events[0]
    assert first.event_id == again.event_id and first.received_at != again.received_at
    follow = handle(plain_post(event_xml("subscribe"), nonce="1"), oa_config).events[0]
    follow_again = handle(plain_post(event_xml("subscribe"), nonce="2"), oa_config).events[0]
    assert follow.event_id == follow_again.event_id


def test_a_plain_push_with_a_bad_or_stale_signature_is_refused(oa_config):
    with pytest.raises(SignatureRejected) as wrong:
        handle(plain_post(TEXT, token="not-our-token"), oa_config)
    stale = plain_post(TEXT, at=T0 - timedelta(hours=1))
    with pytest.raises(SignatureRejected) as late:
        handle(request("POST", dict(stale.query), stale.body, T0), oa_config)
    assert wrong.value.status == 401 and late.value.status == 401 and "timestamp" in late.value.reason


def test_the_timestamp_window_is_configurable():
    stale = plain_post(TEXT, at=T0 - timedelta(minutes=20))
    late = request("POST", dict(stale.query), stale.body, T0)
    with pytest.raises(SignatureRejected):
        handle(late, wechat_config())
    assert handle(late, wechat_config(timestamp_window=timedelta(hours=1))).events


@pytest.mark.parametrize(
    "body",
    [b"<xml><ToUserName>", b"not xml at all", b"", b"<html><body/></html>",
     b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><xml><Content>&b;</Content></xml>'],
    ids=["truncated", "text", "empty", "other-root", "entity-expansion"],
)
def test_a_signed_body_that_is_not_wechat_xml_is_invalid(oa_config, body):
    signed = plain_post(TEXT)
    with pytest.raises(InvalidEvent) as caught:
        handle(request("POST", dict(signed.query), body), oa_config)
    assert caught.value.field == "<payload>"


@pytest.mark.parametrize(
    ("remove", "field"), [("<MsgId>1234567890123456</MsgId>", "MsgId"), ("<CreateTime>1348831860</CreateTime>",
                                                                         "CreateTime")],
)
def test_a_message_missing_a_required_field_is_invalid_naming_it(oa_config, remove, field):
    with pytest.raises(InvalidEvent) as caught:
        handle(plain_post(TEXT.replace(remove, "")), oa_config)
    assert caught.value.field == field


def test_a_safe_mode_push_decrypts_to_the_same_event_as_plain_mode(oa_config):
    safe = handle(encrypted_post(SAFE_ENVELOPE, seal(TEXT, APP_ID)), oa_config)
    plain = handle(plain_post(TEXT), oa_config)
    assert safe.events == plain.events and safe.reply == ACK


def test_a_safe_mode_push_built_independently_of_the_adapter_decrypts(oa_config):
    ciphertext = reference_encrypt(event_xml("subscribe").encode(), KEY, APP_ID, RANDOM16)
    (event,) = handle(encrypted_post(SAFE_ENVELOPE, ciphertext), oa_config).events
    assert event.kind is EventKind.FOLLOW and event.author.id == "FromUser"


def test_compatibility_mode_reads_only_the_signed_ciphertext(oa_config):
    envelope = TEXT.replace("this is a test", "forged plaintext").replace(
        "</xml>", "<Encrypt><![CDATA[{ciphertext}]]></Encrypt></xml>")
    (event,) = handle(encrypted_post(envelope, seal(TEXT, APP_ID)), oa_config).events
    assert event.text == "this is a test"


def test_a_safe_mode_push_for_another_appid_is_refused_403(oa_config):
    with pytest.raises(SignatureRejected) as caught:
        handle(encrypted_post(SAFE_ENVELOPE, seal(TEXT, "wxSOMEONEELSE")), oa_config)
    assert caught.value.status == 403


@pytest.mark.parametrize("damage", ["msg_signature", "missing", "envelope", "stale"])
def test_a_safe_mode_push_that_does_not_prove_itself_is_refused_401(oa_config, damage):
    pushed = encrypted_post(SAFE_ENVELOPE, seal(TEXT, APP_ID))
    query, body, at = dict(pushed.query), pushed.body, T0
    if damage == "msg_signature":
        query["msg_signature"] = signature(TOKEN, query["timestamp"], query["nonce"], "other ciphertext")
    if damage == "missing":
        del query["msg_signature"]
    if damage == "envelope":
        body = b"<xml><Encrypt>"
    if damage == "stale":
        at = T0 + timedelta(minutes=10)
    with pytest.raises(SignatureRejected) as caught:
        handle(request("POST", query, body, at), oa_config)
    assert caught.value.status == 401


def test_a_verified_ciphertext_that_is_garbage_or_not_xml_is_invalid(oa_config):
    with pytest.raises(InvalidEvent) as garbage:
        handle(encrypted_post(SAFE_ENVELOPE, "QUJDREVGR0g="), oa_config)
    with pytest.raises(InvalidEvent) as not_xml:
        handle(encrypted_post(SAFE_ENVELOPE, seal("just words", APP_ID)), oa_config)
    assert garbage.value.field == "Encrypt" and not_xml.value.field == "Encrypt"


def test_an_encrypted_push_to_a_connector_without_a_key_is_invalid_not_guessed():
    with pytest.raises(InvalidEvent) as caught:
        handle(encrypted_post(SAFE_ENVELOPE, seal(TEXT, APP_ID)), wechat_config(encoding_aes_key=None))
    assert "EncodingAESKey" in caught.value.reason


def test_other_methods_are_answered_405_and_secrets_never_print(oa_config):
    assert handle(request("PUT", {}), oa_config).reply.status == 405
    assert TOKEN not in repr(oa_config) and KEY not in repr(oa_config)


def test_a_config_with_a_malformed_key_is_refused():
    with pytest.raises(ValueError):
        wechat_config(encoding_aes_key="too-short")
