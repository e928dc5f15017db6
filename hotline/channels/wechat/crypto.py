"""WeChat's webhook signatures and the safe mode's message encryption (消息加解密).

Plain mode signs each request with ``sha1(sorted(token, timestamp, nonce))``. Safe mode
(安全模式) also encrypts the message: AES-256-CBC with the key ``base64(EncodingAESKey + "=")``,
the key's first 16 bytes as IV, PKCS#7 padding to 32-byte blocks, over
``16 random bytes + 4-byte big-endian length + message + AppID``, signed as
``sha1(sorted(token, timestamp, nonce, ciphertext))``. Every comparison is constant-time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from hotline.errors import ConfigError, Unauthorized

_BLOCK = 32


def signature(*parts: str) -> str:
    """WeChat's signature: SHA-1 of the parts sorted and concatenated."""
    # SHA-1 is what WeChat's protocol prescribes; the token keeps it unforgeable.
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()  # noqa: S324


def check_signature(given: str | None, *parts: str) -> None:
    """Raise ``Unauthorized`` unless ``given`` is the signature of ``parts``."""
    if not given or not secrets.compare_digest(given.lower(), signature(*parts)):
        raise Unauthorized("the WeChat signature does not match", code="bad_signature")


def aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte AES key of a 43-character EncodingAESKey (``ConfigError`` if malformed)."""
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except (binascii.Error, ValueError) as e:
        raise ConfigError(
            "channels.wechat.encoding_aes_key: not the 43-character key the account shows"
        ) from e
    if len(encoding_aes_key) != 43 or len(key) != 32:
        raise ConfigError(
            "channels.wechat.encoding_aes_key: must be 43 characters (a 32-byte key in base64)"
        )
    return key


class MessageCrypto:
    """Encrypts replies to and decrypts messages from one official account."""

    def __init__(self, *, encoding_aes_key: str, app_id: str) -> None:
        self._key = aes_key(encoding_aes_key)
        self._app_id = app_id.encode()

    def decrypt(self, ciphertext: str) -> str:
        """The message inside ``ciphertext``; ``Unauthorized`` if it is not for this account."""
        try:
            raw = base64.b64decode(ciphertext, validate=True)
            plain = b""
            if raw and len(raw) % 16 == 0:
                decryptor = self._cipher().decryptor()
                plain = decryptor.update(raw) + decryptor.finalize()
        except (binascii.Error, ValueError):
            plain = b""
        body = _unpad(plain)
        if len(body) < 20:
            raise Unauthorized(
                "the encrypted WeChat message cannot be decrypted", code="bad_cipher"
            )
        (length,) = struct.unpack(">I", body[16:20])
        message, app_id = body[20 : 20 + length], body[20 + length :]
        if len(message) != length or not secrets.compare_digest(app_id, self._app_id):
            raise Unauthorized(
                "the encrypted WeChat message is not for this account", code="bad_cipher"
            )
        try:
            return message.decode("utf-8")
        except UnicodeDecodeError as e:
            raise Unauthorized(
                "the decrypted WeChat message is not UTF-8", code="bad_cipher"
            ) from e

    def encrypt(self, message: str) -> str:
        body = message.encode()
        plain = os.urandom(16) + struct.pack(">I", len(body)) + body + self._app_id
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(_pad(plain)) + encryptor.finalize()).decode()

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16]))


def _pad(data: bytes) -> bytes:
    size = _BLOCK - len(data) % _BLOCK
    return data + bytes([size]) * size


def _unpad(data: bytes) -> bytes:
    if not data:
        return b""
    size = data[-1]
    if not 1 <= size <= _BLOCK or data[-size:] != bytes([size]) * size:
        return b""
    return data[:-size]
