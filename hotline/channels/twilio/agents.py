"""Callers handed to a person (转人工): Twilio's queue, hold, and the bridge to the agent.

The IVR answers a caller who asks for a person with ``<Enqueue>`` into ``agent_queue``; while
they wait, Twilio plays what ``/voice/wait`` returns. When an agent takes the conversation on
the live desk, :class:`TwilioCallBridge` redirects the queued call to ``/voice/connect``, which
dials the agent's softphone (a Twilio Client whose identity is ``agent_client_prefix`` + the
agent's username). Both webhooks are signed like every other.

Nobody waits forever: once Twilio reports ``agent_queue_max_wait_seconds`` in the queue, the wait
URL answers ``<Leave/>``, and the caller is told no agent is free and sent back to the IVR's
speech turns (``/voice/listen``) to say the request, which the bot files as a ticket. The wait
URL first takes the conversation off the live desk in the same conditional update an agent's
take uses, and writes the wait limit's line in its transcript; when an agent took the call
first, the caller stays in the queue until the bridge redirects the call.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from urllib.parse import urlencode

from aiohttp import web
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.twiml.voice_response import Dial, VoiceResponse

from hotline.channels.twilio.config import TwilioConfig
from hotline.channels.twilio.rest import TwilioRest
from hotline.errors import BadRequest
from hotline.intake.handoff import (
    NO_AGENT_SPOKEN,
    BridgeFailed,
    caller_left,
    last_turn,
    time_out_call,
)
from hotline.storage.db import Database

log = logging.getLogger(__name__)

WAIT = "/channels/twilio/voice/wait"
CONNECT = "/channels/twilio/voice/connect"
LEFT = "/channels/twilio/voice/dequeued"
#: the IVR's speech turn the adapter serves (``?turn=<n>``): back to the bot after the queue
LISTEN = "/channels/twilio/voice/listen"
#: how a caller left the queue without reaching an agent (Twilio's QueueResult)
GONE = frozenset({"hangup", "error", "system-error", "queue-full", "leave"})
QUEUE_FULL = "当前来电较多，排队人数已满，请您稍后再拨。再见。"
HOLD = "坐席正忙，请您耐心等候，接线员将尽快为您服务。"
NO_ANSWER = "接线员暂时无法接听，请您稍后再拨，或直接说出诉求由我们为您登记。再见。"
#: seconds of silence for a caller an agent took, until the bridge redirects the call
BRIDGING_PAUSE = 5

FormReader = Callable[[web.Request], Awaitable[dict[str, str]]]


def enqueue(response: VoiceResponse, config: TwilioConfig) -> VoiceResponse:
    """Put the caller in the agents' queue (after what was said)."""
    response.enqueue(
        config.agent_queue, wait_url=WAIT, wait_url_method="POST", action=LEFT, method="POST"
    )
    return response


class TwilioAgentRoutes:
    def __init__(self, config: TwilioConfig, *, read_form: FormReader, database: Database) -> None:
        self._config = config
        self._form = read_form
        self._database = database

    def routes(self) -> Sequence[web.RouteDef]:
        return [
            web.post(WAIT, self.wait),
            web.post(CONNECT, self.connect),
            web.post(LEFT, self.left),
        ]

    async def wait(self, request: web.Request) -> web.Response:
        """Played over and over while the caller waits in the queue, until the wait limit."""
        form = await self._form(request)
        call, waited = form.get("CallSid", ""), form.get("QueueTime", "")
        if not call:
            raise BadRequest("CallSid is required", code="malformed_form")
        limit = self._config.agent_queue_max_wait_seconds
        response = VoiceResponse()
        if waited.isascii() and waited.isdigit() and int(waited) >= limit:
            async with self._database.session() as session:
                leave = await time_out_call(session, call, waited=timedelta(seconds=int(waited)))
            if leave:
                response.leave()  # Twilio then posts QueueResult=leave to the Enqueue action
                return _twiml(response)
            log.info("twilio.queue_wait_limit_after_take call=%s", call)
            response.pause(length=BRIDGING_PAUSE)  # an agent took the call: no <Leave/>
            return _twiml(response)
        response.say(HOLD, language=self._config.language, voice=self._config.voice)
        response.pause(length=15)
        return _twiml(response)

    async def left(self, request: web.Request) -> web.Response:
        """The caller left the queue (Enqueue's action): gone callers leave the live queue."""
        form = await self._form(request)
        result, call = form.get("QueueResult", ""), form.get("CallSid", "")
        if not call:
            raise BadRequest("CallSid is required", code="malformed_form")
        response = VoiceResponse()
        if result in GONE:
            async with self._database.session() as session:
                await caller_left(session, call)
                turn = await last_turn(session, call)
            log.info("twilio.queue_left call=%s result=%s", call, result)
            if result == "queue-full":
                response.say(QUEUE_FULL, language=self._config.language, voice=self._config.voice)
            if result == "leave":  # waited too long: the bot takes the request instead
                voice = {"language": self._config.language, "voice": self._config.voice}
                response.say(NO_AGENT_SPOKEN, **voice)
                response.redirect(f"{LISTEN}?turn={turn + 1}", method="POST")
        return _twiml(response)

    async def connect(self, request: web.Request) -> web.Response:
        await self._form(request)
        agent = request.query.get("agent", "")
        if not agent or len(agent) > 64 or not agent.replace("-", "").replace("_", "").isalnum():
            raise BadRequest("agent: the agent's username is missing or malformed")
        dial = Dial(timeout=20)
        dial.client(self._config.agent_client_prefix + agent)
        response = VoiceResponse()
        response.append(dial)
        response.say(NO_ANSWER, language=self._config.language, voice=self._config.voice)
        return _twiml(response)


class TwilioCallBridge(TwilioRest):
    """Redirects a queued call to the TwiML that dials the agent."""

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        public_base_url: str,
        api_base_url: str = "https://api.twilio.com",
    ) -> None:
        super().__init__(account_sid=account_sid, auth_token=auth_token, api_base_url=api_base_url)
        self._public = public_base_url.rstrip("/")

    async def connect(self, call_id: str, *, agent: str) -> None:
        url = f"{self._public}{CONNECT}?{urlencode({'agent': agent})}"
        try:
            await self.client().calls(call_id).update_async(url=url, method="POST")
        except TwilioRestException as e:
            raise BridgeFailed(f"Twilio {e.status} code {e.code}: {e.msg}") from e
        except (TwilioException, OSError, TimeoutError) as e:
            raise BridgeFailed(f"Twilio unreachable: {e!r}") from e


def _twiml(response: VoiceResponse) -> web.Response:
    return web.Response(text=str(response), content_type="text/xml")
