"""The WeCom callback adapter (customer contact, 微信客服 announcements) on documented payload shapes.

Documentation (developer.work.weixin.qq.com):
- 回调配置 (URL verification GET, the encrypted POST envelope), https://developer.work.weixin.qq.com/document/path/90930
- 加解密方案说明, https://developer.work.weixin.qq.com/document/path/96211
- 客户联系 变更回调 / 事件格式 (change_external_contact), https://developer.work.weixin.qq.com/document/path/92130
- 微信客服 接收消息和事件 (kf_msg_or_event), https://developer.work.weixin.qq.com/document/path/94670
The event bodies are the documentation's examples; the published vector is the one in WeCom's WXBizMsgCrypt
sample programs (a GET whose echostr decrypts to ``1616140317555161061``, a text message to app 218).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from wechat_builders import (
    CORP_ID,
    KEY,
    RANDOM16,
    T0,
    TOKEN,
    encrypted_post,
    reference_encrypt,
    request,
    seal,
    stamp,
)
from wechat_builders import wecom_config as make_config

from ingest.adapters.base import SignatureRejected
from ingest.adapters.wecom import ACK, KF_SYNC_MSG, handle
from ingest.contracts import EventKind, Platform
from ingest.exceptions import InvalidEvent
from ingest.webhooks.wechat_crypto import signature

ENVELOPE = """<xml>
   <ToUserName><![CDATA[toUser]]></ToUserName>
   <AgentID><![CDATA[toAgentID]]></AgentID>
   <Encrypt><![CDATA[{ciphertext}]]></Encrypt>
</xml>"""

CONTACT_CHANGE = """<xml>
<ToUserName><![CDATA[toUser]]></ToUserName>
<FromUserName><![CDATA[sys]]></FromUserName>
<CreateTime>1403610513</CreateTime>
<MsgType><![CDATA[event]]></MsgType>
<Event><![CDATA[change_external_contact]]></Event>
<ChangeType><![CDATA[{change}]]></ChangeType>
<UserID><![CDATA[zhangsan]]></UserID>
<ExternalUserID><![CDATA[woAJ2GCAAAXtWyujaWJHDDGi0mAAAA]]></ExternalUserID>{extra}
</xml>"""

ADD_EXTRA = "\n<State><![CDATA[teststate]]></State>\n<WelcomeCode><![CDATA[WELCOMECODE]]></WelcomeCode>"

KF_EVENT = """<xml>
<ToUserName><![CDATA[ww12345678910]]></ToUserName>
<CreateTime>1348831860</CreateTime>
<MsgType><![CDATA[event]]></MsgType>
<Event><![CDATA[kf_msg_or_event]]></Event>
<Token><![CDATA[ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR]]></Token>{open_kfid}
</xml>"""

SAMPLE = {"token": "QDG6eK", "corp_id": "wx5823bf96d3bd56c7",
          "encoding_aes_key": "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"}
SAMPLE_ECHOSTR = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
SAMPLE_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/"
    "sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZf"
    "JYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAV"
    "GUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H"
    "3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
)


def contact(change: str, extra: str = "") -> str:
    return CONTACT_CHANGE.format(change=change, extra=extra)


def push(xml: str, *, corp: str = CORP_ID, nonce: str = "1372623149", at: datetime = T0):
    return encrypted_post(ENVELOPE, seal(xml, corp), nonce=nonce, at=at, wechat=False)


def test_the_published_url_verification_answers_the_decrypted_echostr():
    query = {"msg_signature": "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "timestamp": "1409659589",
             "nonce": "263014780", "echostr": SAMPLE_ECHOSTR}
    at = datetime.fromtimestamp(1409659589, tz=UTC) + timedelta(seconds=1)
    delivery = handle(request("GET", query, at=at), make_config(**SAMPLE))
    assert delivery.reply.status == 200 and delivery.reply.body == b"1616140317555161061"


def test_the_published_message_vector_decrypts_and_a_members_app_message_is_skipped():
    query = {"msg_signature": "477715d11cdb4164915debcba66cb864d751f3e6", "timestamp": "1409659813",
             "nonce": "1372623149"}
    body = ENVELOPE.format(ciphertext=SAMPLE_ENCRYPT).encode()
    delivery = handle(request("POST", query, body, datetime.fromtimestamp(1409659813, tz=UTC)), make_config(**SAMPLE))
    assert delivery.events == () and delivery.reply == ACK
    assert delivery.skipped[0].what == "MsgType=text"


@pytest.mark.parametrize("damage", ["wrong", "missing", "stale"])
def test_a_verification_get_that_does_not_prove_itself_is_refused_401(wecom, damage):
    echostr = seal("8675309", CORP_ID)
    at = T0 - timedelta(minutes=6) if damage == "stale" else T0
    ts = stamp(at)
    query = {"msg_signature": signature(TOKEN, ts, "n", echostr), "timestamp": ts, "nonce": "n", "echostr": echostr}
    if damage == "wrong":
        query["msg_signature"] = signature(TOKEN, ts, "n", "another echostr")
    if damage == "missing":
        del query["echostr"]
    with pytest.raises(SignatureRejected) as caught:
        handle(request("GET", query), wecom)
    assert caught.value.status == 401


def test_a_verification_get_for_another_corp_is_refused_403_and_garbage_is_answered_400(wecom):
    ts = stamp()
    for echostr, expected in ((seal("8675309", "wwSOMEONEELSE"), 403), ("QUJD", 400)):
        query = {"msg_signature": signature(TOKEN, ts, "n", echostr), "timestamp": ts, "nonce": "n",
                 "echostr": echostr}
        if expected == 403:
            with pytest.raises(SignatureRejected) as caught:
                handle(request("GET", query), wecom)
            assert caught.value.status == 403
        else:
            assert handle(request("GET", query), wecom).reply.status == 400


@pytest.mark.parametrize("change", ["add_external_contact", "add_half_external_contact"])
def test_adding_a_member_is_a_follow_by_the_external_userid(wecom, change):
    delivery = handle(push(contact(change, ADD_EXTRA)), wecom)
    (event,) = delivery.events
    assert event.platform is Platform.WECOM and event.kind is EventKind.FOLLOW
    assert event.identity_key == "wecom:woAJ2GCAAAXtWyujaWJHDDGi0mAAAA"
    assert event.event_id == f"{CORP_ID}:{change}:zhangsan:woAJ2GCAAAXtWyujaWJHDDGi0mAAAA:1403610513"
    assert event.occurred_at == datetime.fromtimestamp(1403610513, tz=UTC) and event.source == "wecom-acme"
    assert event.raw is not None and event.raw["State"] == "teststate" and event.brand == "acme"
    assert delivery.reply == ACK and delivery.reply.body == b"" and delivery.pulls == ()


@pytest.mark.parametrize(
    ("change", "extra", "reason"),
    [
        ("edit_external_contact", "", "staff action"),
        ("del_external_contact", "\n<Source><![CDATA[DELETE_BY_TRANSFER]]></Source>", "staff action"),
        ("del_follow_user", "", "unfollow"),
        ("transfer_fail", "\n<FailReason><![CDATA[customer_refused]]></FailReason>", "staff action"),
        ("some_future_change", "", "does not map"),
    ],
)
def test_other_contact_changes_are_skipped_with_a_reason(wecom, change, extra, reason):
    delivery = handle(push(contact(change, extra)), wecom)
    assert delivery.events == () and delivery.reply == ACK
    (skipped,) = delivery.skipped
    assert change in skipped.what and reason in skipped.reason


def test_a_retried_callback_is_the_same_event_id(wecom):
    first = handle(push(contact("add_external_contact", ADD_EXTRA), nonce="1"), wecom).events[0]
    again = handle(push(contact("add_external_contact", ADD_EXTRA), nonce="2", at=T0 + timedelta(seconds=5)),
                   wecom).events[0]
    assert first.event_id == again.event_id


def test_a_kf_callback_yields_no_event_but_the_pull_it_announces(wecom):
    delivery = handle(push(KF_EVENT.format(open_kfid="\n<OpenKfId><![CDATA[wkxxxxxxx]]></OpenKfId>")), wecom)
    assert delivery.events == () and delivery.skipped == () and delivery.reply == ACK
    (pull,) = delivery.pulls
    assert pull.api == KF_SYNC_MSG
    assert dict(pull.params) == {"token": "ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR", "open_kfid": "wkxxxxxxx"}


def test_an_older_kf_callback_without_open_kfid_pulls_every_account(wecom):
    (pull,) = handle(push(KF_EVENT.format(open_kfid="")), wecom).pulls
    assert dict(pull.params) == {"token": "ENCApHxnGDNAVNY4AaSJKj4Tb5mwsEMzxhFmHVGcra996NR"}


def test_a_callback_encrypted_independently_of_the_adapter_decrypts(wecom):
    ciphertext = reference_encrypt(contact("add_external_contact").encode(), KEY, CORP_ID, RANDOM16)
    (event,) = handle(encrypted_post(ENVELOPE, ciphertext, wechat=False), wecom).events
    assert event.author.id == "woAJ2GCAAAXtWyujaWJHDDGi0mAAAA"


def test_a_callback_for_another_corp_is_refused_403(wecom):
    with pytest.raises(SignatureRejected) as caught:
        handle(push(contact("add_external_contact"), corp="wwSOMEONEELSE"), wecom)
    assert caught.value.status == 403


@pytest.mark.parametrize("damage", ["signature", "missing", "stale", "envelope", "other token"])
def test_a_callback_that_does_not_prove_itself_is_refused_401(wecom, damage):
    pushed = push(contact("add_external_contact"))
    query, body, at = dict(pushed.query), pushed.body, T0
    if damage == "signature":
        query["msg_signature"] = "f" * 40
    if damage == "missing":
        del query["timestamp"]
    if damage == "stale":
        at = T0 + timedelta(minutes=30)
    if damage == "envelope":
        body = b"{\"json\": true}"
    config = make_config(token="other-token") if damage == "other token" else wecom
    with pytest.raises(SignatureRejected) as caught:
        handle(request("POST", query, body, at), config)
    assert caught.value.status == 401


def test_a_signed_callback_that_is_not_xml_or_lacks_fields_is_invalid(wecom):
    with pytest.raises(InvalidEvent) as not_xml:
        handle(push("<xml><Event>"), wecom)
    with pytest.raises(InvalidEvent) as no_user:
        handle(push(contact("add_external_contact").replace(
            "<ExternalUserID><![CDATA[woAJ2GCAAAXtWyujaWJHDDGi0mAAAA]]></ExternalUserID>", "")), wecom)
    assert not_xml.value.field == "Encrypt" and no_user.value.field == "ExternalUserID"


def test_other_methods_are_answered_405_and_secrets_never_print(wecom):
    assert handle(request("DELETE", {}), wecom).reply.status == 405
    assert TOKEN not in repr(wecom) and KEY not in repr(wecom) and "kf-secret" not in repr(wecom)
