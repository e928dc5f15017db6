"""Twilio's and Telegram's APIs as the callbacks benchmark sees them: a stand-in for each.

The workers' own clients (``twilio``'s and ``aiogram``'s) talk to this server, as they would to
``api.twilio.com`` and ``api.telegram.org``; it answers with the documented bodies and counts
every SMS, call and Telegram message by where it went and what it is: the question (回访) or the
result (办理结果) of which ticket, or the callback a call is for.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

from aiohttp import web

from hotline.callbacks import wording
from hotline.intake.ticket_actions import RESULT_PREFIX
from hotline.storage.types import utcnow

_NUMBER = re.compile(r"工单 ([A-Za-z0-9]+)")
_RESULT = RESULT_PREFIX.split("{", 1)[0]  # "【工单 "
_QUESTION = wording.SMS_QUESTION.split("工单", 1)[0]  # "【12345回访】", as every question
_LINK = re.compile(r"/r/([A-Za-z0-9_-]{32})")

#: what was received: (route, address, what) -> times; route "sms", "call" or "telegram",
#: what "question:<number>", "result:<number>" or, for a call, "callback:<id>"
Key = tuple[str, str, str]


def what(text: str) -> str:
    """``question:<number>`` for a callback's question, ``result:<number>`` for a result."""
    found = _NUMBER.search(text)
    number = found.group(1) if found else "?"
    if text.startswith(_QUESTION):
        return f"question:{number}"
    if text.startswith(_RESULT):
        return f"result:{number}"
    return f"other:{number}"


@dataclass
class Vendors:
    account_sid: str
    bot_token: str
    #: seconds each request takes (a real API answers in 100-500 ms)
    latency: float = 0.0
    received: Counter[Key] = field(default_factory=Counter)
    #: the rating link's token in each SMS question, by ticket number
    links: dict[str, str] = field(default_factory=dict)
    #: when the last question or call was received
    last_question_at: datetime | None = None

    def app(self) -> web.Application:
        app = web.Application()
        twilio = f"/2010-04-01/Accounts/{self.account_sid}"
        app.router.add_post(f"{twilio}/Messages.json", self._sms)
        app.router.add_post(f"{twilio}/Calls.json", self._call)
        app.router.add_post(f"/bot{self.bot_token}/sendMessage", self._telegram)
        return app

    def count(self, route: str, kind: str) -> int:
        """Distinct ``kind`` ("question", "result", "callback") items received on ``route``."""
        return sum(1 for r, _, w in self.received if r == route and w.startswith(kind + ":"))

    def repeats(self) -> int:
        return sum(n - 1 for n in self.received.values())

    def _record(self, route: str, address: str, item: str) -> None:
        self.received[(route, address, item)] += 1
        if not item.startswith("result:"):
            self.last_question_at = utcnow()

    async def _sms(self, request: web.Request) -> web.Response:
        if not request.headers.get("Authorization", "").startswith("Basic "):
            return web.json_response({"code": 20003, "message": "Authenticate"}, status=401)
        form = await request.post()
        await asyncio.sleep(self.latency)
        to, body = str(form["To"]), str(form["Body"])
        item = what(body)
        if item.startswith("question:") and (link := _LINK.search(body)):
            self.links[item.removeprefix("question:")] = link.group(1)
        self._record("sms", to, item)
        sid, sender = "SM" + secrets.token_hex(16), str(form["From"])
        resource = {"sid": sid, "account_sid": self.account_sid, "to": to, "from": sender,
                    "body": body, "status": "queued"}  # fmt: skip
        return web.json_response(resource, status=201)

    async def _call(self, request: web.Request) -> web.Response:
        if not request.headers.get("Authorization", "").startswith("Basic "):
            return web.json_response({"code": 20003, "message": "Authenticate"}, status=401)
        form = await request.post()
        await asyncio.sleep(self.latency)
        callback = parse_qs(urlsplit(str(form["Url"])).query)["cb"][0]
        self._record("call", str(form["To"]), f"callback:{callback}")
        sid, sender = "CA" + secrets.token_hex(16), str(form["From"])
        resource = {"sid": sid, "account_sid": self.account_sid, "to": str(form["To"]),
                    "from": sender, "status": "queued"}  # fmt: skip
        return web.json_response(resource, status=201)

    async def _telegram(self, request: web.Request) -> web.Response:
        form = await request.post()
        await asyncio.sleep(self.latency)
        chat, text = str(form["chat_id"]), str(form["text"])
        self._record("telegram", chat, what(text))
        message = {"message_id": len(self.received), "date": int(time.time()),
                   "chat": {"id": int(chat), "type": "private"}, "text": text}  # fmt: skip
        return web.json_response({"ok": True, "result": message})
