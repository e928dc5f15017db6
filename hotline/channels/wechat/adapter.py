"""The WeChat official account's server URL: ``GET`` verifies it, ``POST`` delivers pushes.

Every request is authenticated before anything is read or stored: the signature over the
account's token, the timestamp within ``max_clock_skew_seconds`` (a replayed push is refused),
and in safe mode the message signature and the AppID inside the ciphertext. A citizen's text,
voice (WeChat's own recognition) or location goes through the intake; the replies come back in
the same HTTP response as one passive text reply (被动回复). WeChat retries a push it got no
answer to with the same ``MsgId``, and the intake answers a repeated id with its first replies.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Sequence

from aiohttp import web

from hotline.channels.base import IntakePort
from hotline.channels.wechat.config import WeChatConfig
from hotline.channels.wechat.crypto import MessageCrypto, check_signature, signature
from hotline.channels.wechat.xml import (
    WeChatMessage,
    encrypted_reply,
    field,
    parse_xml,
    read_message,
    text_reply,
)
from hotline.errors import BadRequest, Unauthorized
from hotline.intake.messages import InboundMessage, Location
from hotline.web.bodies import read_limited

log = logging.getLogger(__name__)

PATH = "/channels/wechat"
CHANNEL = "wechat"
#: WeChat shows at most 2,048 bytes of a passive text reply
REPLY_LIMIT_BYTES = 2048
CUT_NOTE = "……（内容较长，已截取。如需完整答复请回复“人工”或拨打12345。）"
VOICE_UNRECOGNISED = "抱歉，这段语音未能识别，请用文字描述您的诉求。"
UNSUPPORTED = (
    "目前只能处理文字、语音和位置消息，请用文字描述您的诉求；图片等材料可在工单登记后补充。"
)


class WeChatAdapter:
    name = CHANNEL

    def __init__(
        self, config: WeChatConfig, port: IntakePort, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._config = config
        self._port = port
        self._clock = clock
        self._crypto = (
            MessageCrypto(encoding_aes_key=config.encoding_aes_key, app_id=config.app_id)
            if config.safe_mode
            else None
        )

    def routes(self) -> Sequence[web.RouteDef]:
        return [web.get(PATH, self.verify), web.post(PATH, self.receive)]

    async def verify(self, request: web.Request) -> web.Response:
        """The account's server-URL check: echo ``echostr`` when the signature holds."""
        self._authenticate(request)
        echostr = request.query.get("echostr", "")
        if not echostr:
            raise BadRequest("echostr: required to verify the server URL")
        return web.Response(text=echostr)

    async def receive(self, request: web.Request) -> web.Response:
        timestamp, nonce = self._authenticate(request)
        root = parse_xml(await read_limited(request, self._config.max_body_bytes, "a WeChat push"))
        encrypted = request.query.get("encrypt_type", "raw").lower() == "aes"
        if self._crypto is not None:
            if not encrypted:
                raise Unauthorized(
                    "the account runs in safe mode; unencrypted pushes are refused",
                    code="encryption_required",
                )
            ciphertext = field(root, "Encrypt")
            token = self._config.token
            check_signature(request.query.get("msg_signature"), token, timestamp, nonce, ciphertext)
            root = parse_xml(self._crypto.decrypt(ciphertext))
        elif encrypted:
            raise Unauthorized(
                "an encrypted push, but channels.wechat.encoding_aes_key is not set",
                code="bad_cipher",
            )
        message = read_message(root)
        text = await self._answer(message)
        if text is None:
            return web.Response(text="success")  # what WeChat expects when there is no reply
        reply = text_reply(
            to_user=message.from_user,
            from_user=message.to_user,
            create_time=int(self._clock()),
            content=fit(text),
        )
        return web.Response(text=self._seal(reply), content_type="application/xml")

    def _authenticate(self, request: web.Request) -> tuple[str, str]:
        query = request.query
        timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
        if not timestamp.isdigit() or not nonce:
            raise Unauthorized("timestamp and nonce are required", code="bad_signature")
        if abs(self._clock() - int(timestamp)) > self._config.max_clock_skew_seconds:
            raise Unauthorized("the timestamp is too far from our clock", code="stale_request")
        check_signature(query.get("signature"), self._config.token, timestamp, nonce)
        return timestamp, nonce

    async def _answer(self, message: WeChatMessage) -> str | None:
        """What to say back: the intake's replies, or a fixed answer for what it cannot read."""
        if message.msg_type == "event":
            return self._config.welcome if message.event == "subscribe" else None
        inbound = inbound_message(message)
        if inbound is None:
            return VOICE_UNRECOGNISED if message.msg_type == "voice" else UNSUPPORTED
        result = await self._port.pipeline.submit(inbound)
        log.info(
            "wechat.message",
            extra={"msg_type": message.msg_type, "conversation": result.conversation_id},
        )
        return "\n\n".join(reply.text for reply in result.replies) or None

    def _seal(self, reply: str) -> str:
        if self._crypto is None:
            return reply
        timestamp, nonce = str(int(self._clock())), secrets.token_hex(8)
        encrypted = self._crypto.encrypt(reply)
        return encrypted_reply(
            encrypt=encrypted,
            signature=signature(self._config.token, timestamp, nonce, encrypted),
            timestamp=timestamp,
            nonce=nonce,
        )


def inbound_message(message: WeChatMessage) -> InboundMessage | None:
    """The intake's message for a citizen's text, recognised voice or location; else None."""
    text, location = "", None
    if message.msg_type == "text":
        text = message.content
    elif message.msg_type == "voice":
        text = message.recognition
    elif message.msg_type == "location":
        location = Location(message.latitude, message.longitude, message.label or None)
        text = f"我的位置：{message.label}" if message.label else "我的位置"
    if not text.strip():
        return None
    return InboundMessage(
        channel=CHANNEL,
        sender=message.from_user,
        # WeChat's retries carry the same MsgId; events and old pushes without one use the time
        external_id=message.msg_id or f"{message.from_user}:{message.create_time}",
        text=text,
        location=location,
    )


def fit(text: str, limit: int = REPLY_LIMIT_BYTES) -> str:
    """``text`` cut (on a character boundary, with a note) to what a passive reply may hold."""
    if len(text.encode()) <= limit:
        return text
    room = limit - len(CUT_NOTE.encode())
    cut = text.encode()[:room].decode("utf-8", "ignore")
    return cut + CUT_NOTE
