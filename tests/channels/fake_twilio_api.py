"""A stand-in for Twilio's REST API (``api.twilio.com``), which tests cannot reach: the
Messages and Calls resources, with the documented error bodies. Twilio's own client talks to
it."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class FakeTwilioApi:
    account_sid: str
    sent: list[dict[str, str]] = field(default_factory=list)
    #: every message posted, the ones refused (``script``) too
    tried: list[dict[str, str]] = field(default_factory=list)
    #: calls placed (the form Twilio's client posted: To, From, Url, StatusCallback…)
    calls: list[dict[str, str]] = field(default_factory=list)
    #: live calls redirected: (call sid, the form posted: Url, Method)
    redirected: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    #: answers for the next sends: (HTTP status, Twilio error code)
    script: list[tuple[int, int]] = field(default_factory=list)
    #: set when a redirect arrives; with ``gate``, the redirect waits for it to be set (a bridge
    #: held in flight, so a test can act while the agent's take is not yet committed)
    redirecting: asyncio.Event = field(default_factory=asyncio.Event)
    gate: asyncio.Event | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self._create)
        app.router.add_post("/2010-04-01/Accounts/{sid}/Calls.json", self._call)
        app.router.add_post("/2010-04-01/Accounts/{sid}/Calls/{call}.json", self._redirect)
        return app

    def _refused(self, request: web.Request) -> web.Response | None:
        if (
            request.match_info["sid"] != self.account_sid
            or request.headers.get("Authorization", "").split(" ")[0] != "Basic"
        ):
            return web.json_response(
                {"code": 20003, "message": "Authenticate", "status": 401}, status=401
            )
        if self.script:
            status, code = self.script.pop(0)
            body: dict[str, Any] = {"code": code, "message": f"scripted {code}", "status": status}
            return web.json_response(body, status=status)
        return None

    async def _create(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        self.tried.append(form)
        if (refused := self._refused(request)) is not None:
            return refused
        self.sent.append(form)
        sid = "SM" + secrets.token_hex(16)
        resource = {"sid": sid, "account_sid": self.account_sid, "to": form["To"],
                    "from": form["From"], "body": form["Body"], "status": "queued"}  # fmt: skip
        return web.json_response(resource, status=201)

    async def _call(self, request: web.Request) -> web.Response:
        if (refused := self._refused(request)) is not None:
            return refused
        form = {k: str(v) for k, v in (await request.post()).items()}
        self.calls.append(form)
        sid = "CA" + secrets.token_hex(16)
        resource = {"sid": sid, "account_sid": self.account_sid, "to": form["To"],
                    "from": form["From"], "status": "queued"}  # fmt: skip
        return web.json_response(resource, status=201)

    async def _redirect(self, request: web.Request) -> web.Response:
        if (refused := self._refused(request)) is not None:
            return refused
        form = {k: str(v) for k, v in (await request.post()).items()}
        call = request.match_info["call"]
        self.redirecting.set()
        if self.gate is not None:
            await self.gate.wait()
        self.redirected.append((call, form))
        resource = {"sid": call, "account_sid": self.account_sid, "status": "in-progress"}
        return web.json_response(resource, status=200)
