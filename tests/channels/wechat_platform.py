"""The WeChat platform's side of a push, written independently of the adapter: it signs
requests, encrypts safe-mode messages with pycryptodome's AES and opens encrypted replies."""

from __future__ import annotations

import base64
import hashlib
import os
import struct
import time
from dataclasses import dataclass
from xml.etree import ElementTree as ET

from Crypto.Cipher import AES

TOKEN = "hotline-test-token"
APP_ID = "wx1234567890abcdef"
ACCOUNT = "gh_12345city"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, as the account shows


def sha1_of(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def text_push(openid: str, content: str, msg_id: str, *, kind: str = "text") -> str:
    body = f"<Content><![CDATA[{content}]]></Content>"
    if kind == "voice":
        body = f"<Format><![CDATA[amr]]></Format><Recognition><![CDATA[{content}]]></Recognition>"
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[{kind}]]></MsgType>"
        f"{body}<MsgId>{msg_id}</MsgId></xml>"
    )


def push(openid: str, msg_type: str, fields: str, msg_id: str | None = None) -> str:
    msg = f"<MsgId>{msg_id}</MsgId>" if msg_id else ""
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>"
        f"{fields}{msg}</xml>"
    )


@dataclass
class Platform:
    token: str = TOKEN
    app_id: str = APP_ID
    aes_key: str = AES_KEY

    def query(self, *, timestamp: int | None = None, nonce: str = "n0nce") -> dict[str, str]:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        return {
            "signature": sha1_of(self.token, ts, nonce),
            "timestamp": ts,
            "nonce": nonce,
            "openid": "o-citizen",
        }

    def _key(self) -> bytes:
        return base64.b64decode(self.aes_key + "=")

    def encrypt(self, xml: str, app_id: str | None = None) -> str:
        body = xml.encode()
        plain = os.urandom(16) + struct.pack(">I", len(body)) + body
        plain += (app_id or self.app_id).encode()
        pad = 32 - len(plain) % 32
        plain += bytes([pad]) * pad
        key = self._key()
        return base64.b64encode(AES.new(key, AES.MODE_CBC, key[:16]).encrypt(plain)).decode()

    def sealed(self, xml: str, **kwargs: str) -> tuple[dict[str, str], str]:
        """Query and body of a safe-mode push of ``xml``."""
        ciphertext = self.encrypt(xml, kwargs.get("app_id"))
        query = self.query()
        query |= {
            "encrypt_type": "aes",
            "msg_signature": sha1_of(self.token, query["timestamp"], query["nonce"], ciphertext),
        }
        body = (
            f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
            f"<Encrypt><![CDATA[{ciphertext}]]></Encrypt></xml>"
        )
        return query, body

    def open_reply(self, envelope: str) -> ET.Element:
        """Check the reply's signature and decrypt it; the inner XML's root."""
        root = ET.fromstring(envelope)
        ciphertext = root.findtext("Encrypt") or ""
        expected = sha1_of(
            self.token, root.findtext("TimeStamp") or "", root.findtext("Nonce") or "", ciphertext
        )
        assert root.findtext("MsgSignature") == expected
        key = self._key()
        plain = AES.new(key, AES.MODE_CBC, key[:16]).decrypt(base64.b64decode(ciphertext))
        plain = plain[: -plain[-1]]
        (length,) = struct.unpack(">I", plain[16:20])
        assert plain[20 + length :].decode() == self.app_id
        return ET.fromstring(plain[20 : 20 + length].decode())
