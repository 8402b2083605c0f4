"""Checking a signed WeChat / WeCom request: query parameters present, signature right, timestamp fresh,
ciphertext for us. Pure; shared by the Official Account and WeCom adapters.

Refusals follow the adapter contract (``ingest.adapters.base``): anything that does not prove the request
comes from the platform for this connector raises ``SignatureRejected`` (401; 403 when a well-signed message
is addressed to another AppID/CorpID), and nothing of it is stored. A signed ciphertext that does not decrypt,
or decrypts to something that is not XML, raises ``InvalidEvent`` (dead-lettered: a rotated EncodingAESKey
makes it readable later).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from ingest.adapters.base import SignatureRejected
from ingest.exceptions import InvalidEvent
from ingest.webhooks.wechat_crypto import (
    DecryptError,
    ReceiverMismatch,
    decrypt,
    signature_matches,
    timestamp_is_fresh,
)
from ingest.webhooks.wechat_xml import XmlFields, parse_xml


def require(query: Mapping[str, str], *names: str) -> tuple[str, ...]:
    """The values of ``names`` in the query; ``SignatureRejected`` (401) naming the first one missing."""
    values = tuple(query.get(name, "") for name in names)
    for name, value in zip(names, values, strict=True):
        if not value:
            raise SignatureRejected(f"missing query parameter {name!r}")
    return values


def check_signed(
    given: str, parts: tuple[str, ...], *, timestamp: str, received_at: datetime, window: timedelta
) -> None:
    """Refuse (``SignatureRejected``, 401) unless ``given`` signs ``parts`` and the signed ``timestamp`` is
    within ``window`` of ``received_at``."""
    if not signature_matches(given, *parts):
        raise SignatureRejected("signature does not match")
    if not timestamp_is_fresh(timestamp, received_at, window):
        raise SignatureRejected(f"signed timestamp {timestamp!r} is more than {window} from the receive time")


def open_ciphertext(encrypted: str, *, key: bytes, receiver_id: str, where: str) -> bytes:
    """Decrypt an already-verified ciphertext. A ciphertext for another receiver raises
    ``SignatureRejected`` (403); one that does not decrypt raises ``InvalidEvent(where, ...)``."""
    try:
        return decrypt(encrypted, key=key, receiver_id=receiver_id)
    except ReceiverMismatch as exc:
        raise SignatureRejected(f"{where} is addressed to another receiver id", status=403) from exc
    except DecryptError as exc:
        raise InvalidEvent(where, str(exc)) from exc


def open_envelope(
    query: Mapping[str, str],
    body: bytes,
    *,
    token: str,
    key: bytes | None,
    receiver_id: str,
    received_at: datetime,
    window: timedelta,
) -> XmlFields:
    """The fields of the message inside an encrypted push (``<xml><Encrypt>...</Encrypt></xml>``, signed
    by ``msg_signature`` over token, timestamp, nonce and the ciphertext).

    An envelope that cannot be read cannot be verified, so it is refused (401), never stored; the message
    inside a verified envelope that is not XML, or that cannot be opened because the connector has no key
    (``key=None``), raises ``InvalidEvent("Encrypt", ...)``."""
    given, timestamp, nonce = require(query, "msg_signature", "timestamp", "nonce")
    try:
        envelope = parse_xml(body)
    except InvalidEvent as exc:
        raise SignatureRejected(f"the encrypted envelope is unreadable ({exc.reason})") from exc
    encrypted = envelope.get("Encrypt")
    if not isinstance(encrypted, str) or not encrypted.strip():
        raise SignatureRejected("the encrypted envelope has no <Encrypt>")
    check_signed(given, (token, timestamp, nonce, encrypted), timestamp=timestamp, received_at=received_at,
                 window=window)
    if key is None:
        raise InvalidEvent("Encrypt", "an encrypted push, but the connector has no EncodingAESKey")
    return parse_xml(open_ciphertext(encrypted, key=key, receiver_id=receiver_id, where="Encrypt"),
                     where="Encrypt")
