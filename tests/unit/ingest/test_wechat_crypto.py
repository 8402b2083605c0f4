"""The WeChat / WeCom message-crypto scheme, on published vectors and an independent implementation.

Documentation:
- 消息加解密说明 (Official Account),
  https://developers.weixin.qq.com/doc/offiaccount/Message_Management/Message_encryption_and_decryption_instructions.html
- 加解密方案说明 (WeCom), https://developer.work.weixin.qq.com/document/path/96211
The fixed vectors are the ones in the platform's own WXBizMsgCrypt sample programs (token ``QDG6eK``,
CorpID ``wx5823bf96d3bd56c7``): a URL verification whose echostr decrypts to ``1616140317555161061`` and a
pushed text message ``hello`` from ``mycreate``.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from wechat_builders import KEY, RANDOM16, reference_encrypt, reference_signature

from ingest.webhooks.wechat_crypto import (
    DecryptError,
    ReceiverMismatch,
    aes_key,
    decrypt,
    encrypt,
    signature,
    signature_matches,
    timestamp_is_fresh,
)

SAMPLE_TOKEN = "QDG6eK"
SAMPLE_CORP = "wx5823bf96d3bd56c7"
SAMPLE_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
SAMPLE_ECHOSTR = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
SAMPLE_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/"
    "sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZf"
    "JYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAV"
    "GUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H"
    "3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
)


def test_the_published_url_verification_vector_verifies_and_decrypts_to_its_echo():
    assert signature_matches("5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3",
                             SAMPLE_TOKEN, "1409659589", "263014780", SAMPLE_ECHOSTR)
    assert decrypt(SAMPLE_ECHOSTR, key=aes_key(SAMPLE_KEY), receiver_id=SAMPLE_CORP) == b"1616140317555161061"


def test_the_published_message_vector_verifies_and_decrypts_to_the_text_message():
    assert signature(SAMPLE_TOKEN, "1409659813", "1372623149", SAMPLE_ENCRYPT) == (
        "477715d11cdb4164915debcba66cb864d751f3e6")
    message = decrypt(SAMPLE_ENCRYPT, key=aes_key(SAMPLE_KEY), receiver_id=SAMPLE_CORP).decode()
    assert message.startswith("<xml>") and "<Content><![CDATA[hello]]></Content>" in message
    assert "<FromUserName><![CDATA[mycreate]]></FromUserName>" in message


def test_encryption_matches_an_independent_implementation_and_decrypts_back():
    message = "<xml><Content><![CDATA[你好, acme]]></Content></xml>".encode()
    ours = encrypt(message, key=aes_key(KEY), receiver_id="wxAPPID", random16=RANDOM16)
    assert ours == reference_encrypt(message, KEY, "wxAPPID", RANDOM16)
    assert decrypt(ours, key=aes_key(KEY), receiver_id="wxAPPID") == message
    assert len(base64.b64decode(ours)) % 32 == 0


@pytest.mark.parametrize("length", [0, 11, 12, 43, 44, 300])
def test_every_message_length_round_trips_including_exact_multiples_of_the_block(length):
    message = b"m" * length
    sealed = encrypt(message, key=aes_key(KEY), receiver_id="wx1", random16=RANDOM16)
    assert decrypt(sealed, key=aes_key(KEY), receiver_id="wx1") == message


def test_a_message_for_another_receiver_is_a_receiver_mismatch_naming_it():
    sealed = encrypt(b"<xml/>", key=aes_key(KEY), receiver_id="wxOTHER", random16=RANDOM16)
    with pytest.raises(ReceiverMismatch) as caught:
        decrypt(sealed, key=aes_key(KEY), receiver_id="wxMINE")
    assert caught.value.found == "wxOTHER"


@pytest.mark.parametrize("ciphertext", ["not base64 !!", base64.b64encode(b"x" * 20).decode(), ""])
def test_garbage_ciphertext_is_a_decrypt_error(ciphertext):
    with pytest.raises(DecryptError):
        decrypt(ciphertext, key=aes_key(KEY), receiver_id="wx1")


def test_a_ciphertext_under_another_key_does_not_decrypt():
    with pytest.raises(DecryptError):
        decrypt(SAMPLE_ENCRYPT, key=aes_key(KEY), receiver_id=SAMPLE_CORP)


@pytest.mark.parametrize("bad", ["short", KEY + "A", "!" * 43])
def test_an_encoding_aes_key_must_be_43_base64_characters(bad):
    with pytest.raises(ValueError):
        aes_key(bad)


def test_signatures_sort_their_parts_compare_case_insensitively_and_refuse_a_changed_part():
    assert signature("b", "a", "c") == signature("c", "b", "a") == reference_signature("a", "b", "c")
    assert signature_matches(signature("t", "1", "n").upper(), "t", "1", "n")
    assert not signature_matches(signature("t", "1", "n"), "t", "1", "N")
    assert not signature_matches("", "t", "1", "n")


def test_a_signed_timestamp_is_fresh_only_within_the_window_on_either_side():
    now = datetime(2026, 11, 3, 9, 30, tzinfo=UTC)
    window = timedelta(minutes=5)
    ts = int(now.timestamp())
    assert timestamp_is_fresh(str(ts - 300), now, window) and timestamp_is_fresh(str(ts + 300), now, window)
    assert not timestamp_is_fresh(str(ts - 301), now, window)
    assert not timestamp_is_fresh(str(ts + 301), now, window)
    assert not timestamp_is_fresh("14096x", now, window) and not timestamp_is_fresh("-5", now, window)
