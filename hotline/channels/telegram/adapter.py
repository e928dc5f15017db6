"""The Telegram bot's webhook: ``POST /channels/telegram`` with one Update per request.

Telegram proves a request is its own with the ``X-Telegram-Bot-Api-Secret-Token`` header (the
``secret_token`` the webhook was registered with), compared in constant time; nothing is read
before it matches. Private chats only. A text, a shared location or a shared contact goes
through the intake; the replies go back as the webhook's answer (a ``sendMessage`` call that
Telegram performs), with the choices as a one-time keyboard. Telegram retries an update it got
no answer to, and the intake answers a repeated message with its first replies.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Sequence
from typing import Any

from aiogram.types import KeyboardButton, Message, ReplyKeyboardMarkup, Update
from aiohttp import web
from pydantic import ValidationError

from hotline.channels.base import IntakePort
from hotline.channels.telegram.config import TelegramConfig
from hotline.errors import BadRequest, Unauthorized
from hotline.intake.messages import InboundMessage, Location, OutboundReply
from hotline.web.bodies import describe, read_limited

log = logging.getLogger(__name__)

PATH = "/channels/telegram"
CHANNEL = "telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (a header name)
#: Telegram's limit for one message's text
TEXT_LIMIT = 4096
CUT_NOTE = "……（内容较长，已截取。如需完整答复请拨打12345。）"
UNSUPPORTED = "目前只能处理文字、位置和联系电话，请用文字描述您的诉求。"


class TelegramAdapter:
    name = CHANNEL

    def __init__(self, config: TelegramConfig, port: IntakePort) -> None:
        self._config = config
        self._port = port

    def routes(self) -> Sequence[web.RouteDef]:
        return [web.post(PATH, self.receive)]

    async def receive(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not secrets.compare_digest(given.encode(), self._config.webhook_secret.encode()):
            raise Unauthorized(f"{SECRET_HEADER} is missing or wrong", code="bad_signature")
        update = read_update(await read_limited(request, self._config.max_body_bytes, "an update"))
        message = update.message
        if message is None or message.chat.type != "private":
            return web.json_response({})  # edits, channel posts, groups: nothing to answer
        replies = await self._answer(message)
        if not replies:
            return web.json_response({})
        return web.json_response(send_message(message.chat.id, replies))

    async def _answer(self, message: Message) -> list[OutboundReply]:
        if (message.text or "").strip() == "/start":
            return [OutboundReply(self._config.welcome)]
        inbound = inbound_message(message)
        if inbound is None:
            return [OutboundReply(UNSUPPORTED)]
        result = await self._port.pipeline.submit(inbound)
        log.info("telegram.message", extra={"conversation": result.conversation_id})
        return list(result.replies)


def read_update(body: bytes) -> Update:
    """The update in a webhook body: 400 for bad JSON or a body that is not an Update."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise BadRequest(f"malformed JSON body: {e}", code="malformed_json") from e
    try:
        return Update.model_validate(data)
    except ValidationError as e:
        raise BadRequest(f"not a Telegram update: {describe(e)}", code="malformed_update") from e


def inbound_message(message: Message) -> InboundMessage | None:
    """The intake's message for a text, a shared location or one's own contact; else None."""
    user = message.from_user
    text, phone, location = (message.text or "").strip(), None, None
    if message.location is not None:
        venue = message.venue
        place = f"{venue.title} {venue.address}".strip() if venue else None
        location = Location(message.location.latitude, message.location.longitude, place)
        text = f"我的位置：{place}" if place else "我的位置"
    elif message.contact is not None and user is not None and message.contact.user_id == user.id:
        # a contact one shares of oneself, not a third party; Telegram often leaves out the +
        text = message.contact.phone_number
        phone = text if text.startswith("+") else f"+{text}"
    if not text:
        return None
    return InboundMessage(
        channel=CHANNEL,
        sender=str(message.chat.id),
        # Telegram retries an update with the same message; message ids are unique per chat
        external_id=f"{message.chat.id}:{message.message_id}",
        text=text,
        contact_phone=phone,
        contact_name=user.full_name if user else None,
        location=location,
    )


def send_message(chat_id: int, replies: Sequence[OutboundReply]) -> dict[str, Any]:
    """The webhook answer: one ``sendMessage`` with every reply, and the last one's choices."""
    call: dict[str, Any] = {
        "method": "sendMessage",
        "chat_id": chat_id,
        "text": fit("\n\n".join(reply.text for reply in replies)),
    }
    choices = next((r.choices for r in reversed(replies) if r.choices), ())
    if choices:
        keyboard = ReplyKeyboardMarkup(
            keyboard=[[KeyboardButton(text=choice)] for choice in choices],
            one_time_keyboard=True,
            resize_keyboard=True,
        )
        call["reply_markup"] = keyboard.model_dump(exclude_none=True)
    return call


def fit(text: str, limit: int = TEXT_LIMIT) -> str:
    """``text`` cut (with a note) to what one Telegram message holds."""
    return text if len(text) <= limit else text[: limit - len(CUT_NOTE)] + CUT_NOTE
