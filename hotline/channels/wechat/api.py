"""WeChat's server API for the pushes this channel makes: customer-service text messages.

The access token comes from ``/cgi-bin/stable_token``, which returns the same token to every
caller until it expires, so several server and worker processes never invalidate each other's
token the way the plain ``/cgi-bin/token`` call does. It is cached until a minute before its
expiry and fetched again when WeChat says it is invalid or expired.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from hotline.channels.push import PushFailed
from hotline.channels.wechat.adapter import fit

log = logging.getLogger(__name__)

#: the token is invalid, expired, or not the newest one
TOKEN_ERRORS = frozenset({40001, 40014, 42001})
#: retrying cannot help: an unknown or unsubscribed follower, the 48-hour reply window closed,
#: the account lacks the permission
FINAL_ERRORS = frozenset({40003, 43004, 45015, 45047, 48001, 40013})


class WeChatApi:
    """Sends customer-service text messages (客服消息) to followers of one account."""

    def __init__(
        self,
        *,
        app_id: str,
        app_secret: str,
        base_url: str = "https://api.weixin.qq.com",
        timeout_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._app_id = app_id
        self._app_secret = app_secret
        self._base = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._clock = clock
        self._token: tuple[str, float] | None = None  # (token, valid until)
        self._lock = asyncio.Lock()
        self._session: aiohttp.ClientSession | None = None

    async def push(self, address: str, text: str) -> None:
        body = {"touser": address, "msgtype": "text", "text": {"content": fit(text)}}
        for fresh in (False, True):
            token = await self._access_token(refresh=fresh)
            reply = await self._post("/cgi-bin/message/custom/send", body, access_token=token)
            code = int(reply.get("errcode", 0))
            if code == 0:
                return
            if code in TOKEN_ERRORS and not fresh:
                continue
            raise PushFailed(
                f"WeChat errcode {code}: {reply.get('errmsg', '')}", final=code in FINAL_ERRORS
            )
        raise PushFailed("WeChat refused a freshly fetched access token")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _access_token(self, *, refresh: bool) -> str:
        async with self._lock:
            if not refresh and self._token is not None and self._clock() < self._token[1]:
                return self._token[0]
            body = {
                "grant_type": "client_credential",
                "appid": self._app_id,
                "secret": self._app_secret,
                "force_refresh": False,
            }
            reply = await self._post("/cgi-bin/stable_token", body)
            token = reply.get("access_token")
            if not isinstance(token, str) or not token:
                code = reply.get("errcode")
                raise PushFailed(
                    f"no WeChat access token (errcode {code}: {reply.get('errmsg', '')})",
                    final=False,
                )
            expires = float(reply.get("expires_in", 7200))
            self._token = (token, self._clock() + max(expires - 60.0, 0.0))
            return token

    async def _post(self, path: str, body: dict[str, Any], **params: str) -> dict[str, Any]:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        try:
            async with self._session.post(f"{self._base}{path}", params=params, json=body) as r:
                if r.status != 200:
                    raise PushFailed(f"WeChat answered HTTP {r.status} to {path}")
                data = await r.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as e:
            raise PushFailed(f"WeChat {path} unreachable: {e!r}") from e
        if not isinstance(data, dict):
            raise PushFailed(f"WeChat answered {path} with something other than an object")
        return data
