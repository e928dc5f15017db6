"""A stand-in for the Telegram Bot API server, which tests cannot reach: ``sendMessage`` with
the documented answers, and a script of errors. aiogram's own client talks to it."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class FakeBotApi:
    token: str
    sent: list[dict[str, Any]] = field(default_factory=list)
    #: answers for the next calls: (HTTP status, description)
    script: list[tuple[int, str]] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/bot{token}/sendMessage", self._send)
        return app

    async def _send(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        form = dict(await request.post())
        if self.script:
            status, description = self.script.pop(0)
            answer = {"ok": False, "error_code": status, "description": description}
            return web.json_response(answer, status=status)
        fields = {k: (json.loads(v) if k == "reply_markup" else v) for k, v in form.items()}
        self.sent.append(fields)
        chat = int(str(form["chat_id"]))
        result = {
            "message_id": len(self.sent),
            "date": int(time.time()),
            "chat": {"id": chat, "type": "private"},
            "text": form["text"],
        }
        return web.json_response({"ok": True, "result": result})
