"""Pushing later messages (agents' replies, resolutions) to Telegram citizens with aiogram."""

from __future__ import annotations

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNotFound,
    TelegramUnauthorizedError,
)

from hotline.channels.push import PushFailed
from hotline.channels.telegram.adapter import fit


class TelegramPusher:
    """``sendMessage`` through the Bot API; a blocked bot or an unknown chat is final."""

    def __init__(self, *, bot_token: str, api_base_url: str = "https://api.telegram.org") -> None:
        session = AiohttpSession(api=TelegramAPIServer.from_base(api_base_url))
        self._bot = Bot(bot_token, session=session)

    async def push(self, address: str, text: str) -> None:
        try:
            await self._bot.send_message(chat_id=int(address), text=fit(text))
        except (TelegramForbiddenError, TelegramNotFound, TelegramBadRequest) as e:
            raise PushFailed(f"Telegram refused: {e.message}", final=True) from e
        except TelegramUnauthorizedError as e:  # the token was revoked: retry once it is fixed
            raise PushFailed(f"Telegram refused the bot token: {e.message}") from e
        except TelegramAPIError as e:  # flood limits, Telegram's own errors
            raise PushFailed(f"Telegram: {e.message}") from e
        except (OSError, TimeoutError) as e:
            raise PushFailed(f"Telegram unreachable: {e!r}") from e

    async def close(self) -> None:
        await self._bot.session.close()
