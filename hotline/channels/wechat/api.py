"""WeChat's server API for the pushes this channel makes: customer-service text messages.

Customer-service messages reach a follower only within 48 hours of their last message; later
ones are refused (45015) and held until the citizen writes again
(:class:`hotline.channels.push.WaitForCitizen`). With a notice template configured, the
follower is told once by a template message (模板消息) that a message from the hotline waits
for them.

The access token comes from ``/cgi-bin/stable_token``, which returns the same token to every
caller until it expires, so several server and worker processes never invalidate each other's
token the way the plain ``/cgi-bin/token`` call does. It is cached until a minute before its
expiry and fetched again when WeChat says it is invalid or expired.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from hotline.channels.push import PushFailed, WaitForCitizen
from hotline.channels.wechat.adapter import fit

log = logging.getLogger(__name__)

#: the token is invalid, expired, or not the newest one
TOKEN_ERRORS = frozenset({40001, 40014, 42001})
#: the 48-hour reply window closed, or its message quota is used up: wait for the citizen
WINDOW_ERRORS = frozenset({45015, 45047})
#: retrying cannot help: an unknown or unsubscribed follower, the account lacks the permission
FINAL_ERRORS = frozenset({40003, 43004, 48001, 40013})


@dataclass(frozen=True)
class NoticeTemplate:
    """A template message (模板消息) chosen in the account's back office, and its field values."""

    template_id: str
    #: field name → value, e.g. {"thing1": "您有一条12345办理消息", "thing2": "请回复任意内容查看"}
    data: Mapping[str, str]


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
        notice: NoticeTemplate | None = None,
    ) -> None:
        self._app_id = app_id
        self._app_secret = app_secret
        self._base = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._clock = clock
        self._token: tuple[str, float] | None = None  # (token, valid until)
        self._lock = asyncio.Lock()
        self._session: aiohttp.ClientSession | None = None
        self._notice = notice

    async def push(self, address: str, text: str) -> None:
        body = {"touser": address, "msgtype": "text", "text": {"content": fit(text)}}
        await self._send("/cgi-bin/message/custom/send", body)

    async def notify(self, address: str) -> bool:
        """Tell a follower whose reply window closed that a message waits; False without a
        notice template."""
        if self._notice is None:
            return False
        data = {name: {"value": value} for name, value in self._notice.data.items()}
        body = {"touser": address, "template_id": self._notice.template_id, "data": data}
        await self._send("/cgi-bin/message/template/send", body)
        return True

    async def _send(self, path: str, body: dict[str, Any]) -> None:
        for fresh in (False, True):
            token = await self._access_token(refresh=fresh)
            reply = await self._post(path, body, access_token=token)
            code = int(reply.get("errcode", 0))
            if code == 0:
                return
            if code in TOKEN_ERRORS and not fresh:
                continue
            reason = f"WeChat errcode {code}: {reply.get('errmsg', '')}"
            if code in WINDOW_ERRORS:
                raise WaitForCitizen(reason)
            raise PushFailed(reason, final=code in FINAL_ERRORS)
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
