"""The WeChat message-crypto scheme (``WXBizMsgCrypt``), shared by Official Accounts and WeCom.

Pure functions over bytes and strings, no clock and no randomness of their own (the 16 random bytes of an
encryption are passed in), so every step is testable with fixed vectors.

- **Signature**: SHA-1, lower-case hex, over the sorted concatenation of ``token``, ``timestamp``,
  ``nonce`` and, for ``msg_signature``, the base64 ``Encrypt`` text (or the encrypted ``echostr``).
- **Key**: ``AESKey = base64_decode(EncodingAESKey + "=")``, 32 bytes (an EncodingAESKey is 43 characters).
- **Cipher**: AES-256-CBC, IV = the key's first 16 bytes, PKCS#7 padding to a multiple of **32** bytes.
- **Plaintext**: ``random(16) + len(msg) as 4-byte big-endian + msg + receiver id`` (the Official Account's
  AppID, or the WeCom CorpID), base64-encoded after encryption.
- **Freshness**: the signed ``timestamp`` (seconds) against the receive time the caller passes in.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
from datetime import datetime, timedelta
from typing import Annotated

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from pydantic import AfterValidator, SecretStr

BLOCK = 32
"""The PKCS#7 block size of the scheme (not AES's 16: the documentation pads to 32)."""

_RANDOM_BYTES = 16
_LENGTH = struct.Struct(">I")


class DecryptError(ValueError):
    """The ciphertext is not a well-formed message of this scheme under this key (bad base64, length,
    padding or length prefix): garbage, or a key that does not match."""


class ReceiverMismatch(DecryptError):
    """The ciphertext decrypts, but names another receiver (AppID / CorpID) than the one configured."""

    def __init__(self, found: str) -> None:
        super().__init__("the message is addressed to another receiver id")
        self.found = found


def signature(*parts: str) -> str:
    """SHA-1 hex of the parts sorted (byte order) and concatenated: ``signature`` over
    (token, timestamp, nonce), ``msg_signature`` over (token, timestamp, nonce, encrypted)."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def signature_matches(given: str, *parts: str) -> bool:
    """Whether ``given`` is the signature of ``parts``; constant-time, case-insensitive hex."""
    return hmac.compare_digest(signature(*parts).encode("ascii"), given.strip().lower().encode("utf-8"))


def aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte AES key an EncodingAESKey (43 characters of ``[A-Za-z0-9]``) stands for.

    Raises ``ValueError`` when it is not 43 characters or does not decode to 32 bytes."""
    if len(encoding_aes_key) != 43:
        raise ValueError(f"an EncodingAESKey has 43 characters, got {len(encoding_aes_key)}")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except binascii.Error as exc:
        raise ValueError("the EncodingAESKey is not base64") from exc
    if len(key) != 32:
        raise ValueError("the EncodingAESKey does not decode to 32 bytes")
    return key


def encrypt(message: bytes, *, key: bytes, receiver_id: str, random16: bytes) -> str:
    """Base64 ciphertext of ``message`` for ``receiver_id`` (what goes in ``<Encrypt>``).

    ``random16`` is the 16-byte random prefix (pass ``os.urandom(16)``; fixed bytes in tests)."""
    if len(random16) != _RANDOM_BYTES:
        raise ValueError("random16 must be 16 bytes")
    plain = random16 + _LENGTH.pack(len(message)) + message + receiver_id.encode("utf-8")
    pad = BLOCK - len(plain) % BLOCK
    encryptor = _cipher(key).encryptor()
    sealed = encryptor.update(plain + bytes([pad]) * pad) + encryptor.finalize()
    return base64.b64encode(sealed).decode("ascii")


def decrypt(ciphertext: str, *, key: bytes, receiver_id: str) -> bytes:
    """The message inside a base64 ciphertext, after checking it is addressed to ``receiver_id``.

    Raises ``DecryptError`` for anything not well formed and ``ReceiverMismatch`` for another receiver."""
    try:
        sealed = base64.b64decode(ciphertext.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DecryptError("the ciphertext is not base64") from exc
    if not sealed or len(sealed) % 16:
        raise DecryptError(f"the ciphertext is {len(sealed)} bytes, not a positive multiple of 16")
    decryptor = _cipher(key).decryptor()
    plain = decryptor.update(sealed) + decryptor.finalize()
    pad = plain[-1]
    if not 1 <= pad <= BLOCK or pad > len(plain) or plain[-pad:] != bytes([pad]) * pad:
        raise DecryptError("bad PKCS#7 padding (wrong EncodingAESKey?)")
    body = plain[_RANDOM_BYTES:-pad]
    if len(body) < _LENGTH.size:
        raise DecryptError("the plaintext is too short for its length prefix")
    (length,) = _LENGTH.unpack_from(body)
    if length > len(body) - _LENGTH.size:
        raise DecryptError("the length prefix runs past the plaintext (wrong EncodingAESKey?)")
    message = body[_LENGTH.size : _LENGTH.size + length]
    found = body[_LENGTH.size + length :]
    if not hmac.compare_digest(found, receiver_id.encode("utf-8")):
        raise ReceiverMismatch(found.decode("utf-8", errors="replace"))
    return message


def timestamp_is_fresh(timestamp: str, received_at: datetime, window: timedelta) -> bool:
    """Whether a signed ``timestamp`` (Unix seconds) lies within ``window`` of ``received_at``, either side
    (the platform's clock may run ahead of ours). A timestamp that is not an integer is never fresh."""
    if not (timestamp.isascii() and timestamp.isdigit()):
        return False
    return abs(received_at.timestamp() - int(timestamp)) <= window.total_seconds()


def _cipher(key: bytes) -> Cipher[modes.CBC]:
    return Cipher(algorithms.AES(key), modes.CBC(key[:16]))


def _nonblank(value: SecretStr) -> SecretStr:
    if not value.get_secret_value().strip():
        raise ValueError("the token is blank")
    return value


def _decodable(value: SecretStr) -> SecretStr:
    aes_key(value.get_secret_value())
    return value


CallbackToken = Annotated[SecretStr, AfterValidator(_nonblank)]
"""A WeChat / WeCom callback Token as pasted into the platform's console (refused when blank)."""
EncodingAesKey = Annotated[SecretStr, AfterValidator(_decodable)]
"""An EncodingAESKey (43 characters) that decodes to a 32-byte AES key (refused otherwise)."""
