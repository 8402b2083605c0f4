"""Builders for the WeChat / WeCom adapter tests: connector configs, signed requests (plain and encrypted),
and an independent implementation of the crypto scheme from ``cryptography`` primitives and ``hashlib``
(not the module under test), so fixed vectors are not computed by the code they check."""

from __future__ import annotations

import base64
import hashlib
import struct
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ingest.adapters.base import WebhookRequest
from ingest.adapters.wechat import WeChatConfig
from ingest.adapters.wecom import WeComConfig
from ingest.webhooks.wechat_crypto import aes_key, encrypt, signature

T0 = datetime(2026, 11, 3, 9, 30, tzinfo=UTC)
"""The receive time of most test requests; the signed timestamps are this minus ``SENT_BEFORE``."""
SENT_BEFORE = timedelta(seconds=2)

TOKEN = "acmeToken2026"
KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP_ID = "wx1234567890abcdef"
CORP_ID = "ww0987654321fedcba"
RANDOM16 = b"0123456789abcdef"


def wechat_config(**overrides: object) -> WeChatConfig:
    values: dict[str, object] = {"name": "wechat-oa-acme", "token": TOKEN, "app_id": APP_ID,
                                 "encoding_aes_key": KEY, "brand": "acme"}
    return WeChatConfig.model_validate({**values, **overrides})


def wecom_config(**overrides: object) -> WeComConfig:
    values: dict[str, object] = {"name": "wecom-acme", "token": TOKEN, "corp_id": CORP_ID,
                                 "encoding_aes_key": KEY, "secret": "kf-secret", "brand": "acme"}
    return WeComConfig.model_validate({**values, **overrides})


def stamp(at: datetime = T0) -> str:
    return str(int((at - SENT_BEFORE).timestamp()))


def request(method: str, query: dict[str, str], body: bytes = b"", at: datetime = T0) -> WebhookRequest:
    return WebhookRequest(method=method, query=query, headers={"content-type": "text/xml"}, body=body,
                          received_at=at)


def plain_post(xml: str, *, nonce: str = "1320562132", at: datetime = T0, token: str = TOKEN) -> WebhookRequest:
    """A plain-mode Official Account push, as WeChat signs it (``signature`` over token, timestamp, nonce)."""
    ts = stamp(at)
    query = {"signature": signature(token, ts, nonce), "timestamp": ts, "nonce": nonce, "openid": "oUser"}
    return request("POST", query, xml.encode("utf-8"), at)


def seal(xml: str, receiver_id: str, random16: bytes = RANDOM16) -> str:
    return encrypt(xml.encode("utf-8"), key=aes_key(KEY), receiver_id=receiver_id, random16=random16)


def encrypted_post(
    envelope: str, ciphertext: str, *, nonce: str = "1372623149", at: datetime = T0, token: str = TOKEN,
    wechat: bool = True,
) -> WebhookRequest:
    """An encrypted push with ``envelope`` (containing ``{ciphertext}``) signed by ``msg_signature``; the
    Official Account variant also carries ``encrypt_type=aes``, ``signature`` and ``openid``."""
    ts = stamp(at)
    query = {"msg_signature": signature(token, ts, nonce, ciphertext), "timestamp": ts, "nonce": nonce}
    if wechat:
        query |= {"signature": signature(token, ts, nonce), "encrypt_type": "aes", "openid": "oUser"}
    return request("POST", query, envelope.format(ciphertext=ciphertext).encode("utf-8"), at)


def reference_encrypt(message: bytes, encoding_aes_key: str, receiver_id: str, random16: bytes) -> str:
    """The documented scheme written out with primitives: AES-256-CBC, IV = key[:16], PKCS#7 to 32."""
    key = base64.b64decode(encoding_aes_key + "=")
    plain = random16 + struct.pack(">I", len(message)) + message + receiver_id.encode()
    pad = 32 - len(plain) % 32
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain + bytes([pad] * pad)) + encryptor.finalize()).decode()


def reference_signature(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()
