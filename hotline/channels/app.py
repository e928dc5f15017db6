"""The city app and web site: REST messages, conversation reads, ticket status, WebSocket chat.

The app's back end calls us server to server with the shared ``X-Api-Key``; it has already
signed the citizen in, so ``sender`` is its stable user id and ``phone`` (when sent) is known.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Sequence
from typing import Any

from aiohttp import WSMsgType, web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hotline.channels.base import IntakePort
from hotline.config import AppChannelConfig
from hotline.errors import BadRequest, HotlineError, ValidationFailed
from hotline.intake.messages import InboundMessage, Location
from hotline.intake.queries import message_view
from hotline.storage.models import Direction
from hotline.web.bodies import describe, read_json
from hotline.web.responses import json_response
from hotline.web.security import check_api_key

log = logging.getLogger(__name__)

_TICKET_NUMBER = re.compile(r"^\d{8,16}$")


class LocationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)
    address: str | None = Field(None, max_length=500)


class AppMessageIn(BaseModel):
    """One message from the app: ``message_id`` makes retries safe."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    sender: str = Field(min_length=1, max_length=128)
    text: str = Field(min_length=1, max_length=4000)
    message_id: str = Field(min_length=1, max_length=128)
    location: LocationIn | None = None
    phone: str | None = Field(None, max_length=32)
    name: str | None = Field(None, max_length=100)

    def to_inbound(self) -> InboundMessage:
        location = Location(**self.location.model_dump()) if self.location else None
        return InboundMessage(
            channel="app",
            sender=self.sender,
            external_id=self.message_id,
            text=self.text,
            contact_phone=self.phone,
            contact_name=self.name,
            location=location,
        )


class AppChannel:
    name = "app"

    def __init__(self, config: AppChannelConfig, port: IntakePort) -> None:
        self._config = config
        self._port = port

    def routes(self) -> Sequence[web.RouteDef]:
        return [
            web.post("/api/v1/messages", self.post_message),
            web.get("/api/v1/conversations/{conversation_id}", self.get_conversation),
            web.get("/api/v1/tickets/{number}/status", self.get_ticket_status),
            web.get("/api/v1/ws", self.websocket),
        ]

    async def post_message(self, request: web.Request) -> web.Response:
        check_api_key(request, self._config.api_key)
        payload = await read_json(request, AppMessageIn)
        result = await self._port.pipeline.submit(payload.to_inbound())
        return json_response(result.to_dict(), status=200 if result.repeated else 201)

    async def get_conversation(self, request: web.Request) -> web.Response:
        check_api_key(request, self._config.api_key)
        view = await self._port.queries.conversation(request.match_info["conversation_id"])
        return json_response(view)

    async def get_ticket_status(self, request: web.Request) -> web.Response:
        check_api_key(request, self._config.api_key)
        number = request.match_info["number"]
        phone = request.query.get("phone", "")
        if not _TICKET_NUMBER.match(number):
            raise ValidationFailed("number: a ticket number is 8 to 16 digits")
        if not phone:
            raise ValidationFailed(
                "phone: the contact phone given when the ticket was made is required"
            )
        return json_response(await self._port.queries.ticket_status(number, phone))

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        check_api_key(request, self._config.api_key)
        sender = request.query.get("sender", "").strip()
        if not sender:
            raise ValidationFailed("sender: required as a query parameter")
        ws = web.WebSocketResponse(heartbeat=30)
        await ws.prepare(request)
        session = _ChatSession(ws, sender, self._port, self._config.websocket_poll_seconds)
        session.conversation_id = request.query.get("conversation_id") or None
        await session.run()
        return ws


class _ChatSession:
    """One WebSocket: citizen messages in, replies out, later agent messages pushed."""

    def __init__(
        self, ws: web.WebSocketResponse, sender: str, port: IntakePort, poll: float
    ) -> None:
        self.ws, self.sender, self.port, self.poll = ws, sender, port, poll
        self.conversation_id: str | None = None
        self.last_pushed = 0

    async def run(self) -> None:
        pusher = asyncio.create_task(self._push_loop())
        try:
            async for frame in self.ws:
                if frame.type != WSMsgType.TEXT:
                    break
                await self.ws.send_json(await self._handle(frame.data))
        finally:
            pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pusher

    async def _handle(self, data: str) -> dict[str, Any]:
        try:
            raw = json.loads(data)
            if not isinstance(raw, dict):
                raise BadRequest("each frame is a JSON object", code="malformed_json")
            payload = AppMessageIn.model_validate({**raw, "sender": self.sender})
            result = await self.port.pipeline.submit(payload.to_inbound())
        except json.JSONDecodeError:
            return _error_frame("malformed_json", "each frame is a JSON object")
        except ValidationError as e:
            return _error_frame("validation_error", describe(e))
        except HotlineError as e:
            return _error_frame(e.code, e.message)
        if self.conversation_id != result.conversation_id:
            self.conversation_id = result.conversation_id
            self.last_pushed = result.message_id
        return {"type": "result", **result.to_dict()}

    async def _push_loop(self) -> None:
        while not self.ws.closed:
            if self.conversation_id is None:
                await asyncio.sleep(self.poll)
                continue
            await self.port.hub.wait(self.conversation_id, self.poll)
            try:
                await self._push_new()
            except HotlineError as e:  # database briefly unavailable: try again next round
                log.warning("app.ws.push_failed: %s", e.message)

    async def _push_new(self) -> None:
        if self.conversation_id is None:
            return
        messages = await self.port.queries.messages_after(self.conversation_id, self.last_pushed)
        for message in messages:
            self.last_pushed = max(self.last_pushed, message.id or 0)
            # Direct replies travel in the "result" frame; push only what came later (agents).
            if message.direction == Direction.OUTBOUND and message.reply_to_id is None:
                await self.ws.send_json({"type": "message", **message_view(message)})


def _error_frame(code: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"code": code, "message": message}}
