"""A stand-in for WeChat's server API (``api.weixin.qq.com``), which tests cannot reach:
``/cgi-bin/stable_token``, ``/cgi-bin/message/custom/send`` and
``/cgi-bin/message/template/send``, with the documented bodies and error codes, and scripts of
errors to answer with."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class FakeWeChatApi:
    app_id: str
    app_secret: str
    tokens_issued: int = 0
    token: str = ""
    sent: list[dict[str, Any]] = field(default_factory=list)
    #: answers for the next sends, in order: an errcode, or an HTTP status as "http:500"
    script: list[int | str] = field(default_factory=list)
    #: template messages sent, and the errcodes for the next ones
    templates: list[dict[str, Any]] = field(default_factory=list)
    template_script: list[int] = field(default_factory=list)
    #: sends wait here until as many have arrived, so that two workers hear back at once
    together: asyncio.Barrier | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/cgi-bin/stable_token", self._token)
        app.router.add_post("/cgi-bin/message/custom/send", self._send)
        app.router.add_post("/cgi-bin/message/template/send", self._template)
        return app

    async def _token(self, request: web.Request) -> web.Response:
        body = await request.json()
        if (body.get("appid"), body.get("secret")) != (self.app_id, self.app_secret):
            return web.json_response({"errcode": 40125, "errmsg": "invalid appsecret"})
        if not self.token:
            self.token = secrets.token_hex(16)
            self.tokens_issued += 1
        return web.json_response({"access_token": self.token, "expires_in": 7200})

    async def _send(self, request: web.Request) -> web.Response:
        if request.query.get("access_token") != self.token or not self.token:
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        if self.together is not None:
            await self.together.wait()
        if self.script:
            answer = self.script.pop(0)
            if isinstance(answer, str):
                return web.Response(status=int(answer.removeprefix("http:")))
            if answer in (40001, 42001):
                self.token = ""  # the token really expired: a new one must be fetched
            return web.json_response({"errcode": answer, "errmsg": "scripted"})
        self.sent.append(await request.json())
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def _template(self, request: web.Request) -> web.Response:
        if request.query.get("access_token") != self.token or not self.token:
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        if self.template_script:
            return web.json_response({"errcode": self.template_script.pop(0), "errmsg": "x"})
        body = await request.json()
        if not body.get("template_id") or not isinstance(body.get("data"), dict):
            return web.json_response({"errcode": 40037, "errmsg": "invalid template_id"})
        self.templates.append(body)
        return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": len(self.templates)})
