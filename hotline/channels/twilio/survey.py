"""The satisfaction call's TwiML (回访外呼): keypad rating, then the reason by speech.

    pick up ─▶ question (press 1 / 2 / 3) ─▶ key ─▶ thanks, hang up
                    ▲ no or wrong key, once       └─ 3 (不满意) ─▶ reason by speech ─▶ thanks

Each request carries the callback id in its URL (``?cb=``), which Twilio signs with the rest of
the request; the end of the call (``/status``) tells the callbacks whether it was answered.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from aiohttp import web
from twilio.twiml.voice_response import Gather, VoiceResponse

from hotline.callbacks import wording
from hotline.channels.twilio.caller import QUESTION, STATUS
from hotline.errors import BadRequest

KEY = "/channels/twilio/callback/key"
REASON = "/channels/twilio/callback/reason"
#: wrong or missing keys before the call ends (it is tried again later)
MAX_TRIES = 2


class KeyAnswer(Protocol):
    @property
    def text(self) -> str: ...
    @property
    def valid(self) -> bool: ...
    @property
    def ask_reason(self) -> bool: ...


class SurveyPort(Protocol):
    async def call_question(self, callback_id: int) -> str | None: ...
    async def press(self, callback_id: int, digits: str) -> KeyAnswer: ...
    async def spoken_reason(self, callback_id: int, text: str) -> str: ...
    async def call_ended(self, callback_id: int, status: str) -> None: ...


FormReader = Callable[[web.Request], Awaitable[dict[str, str]]]


class TwilioSurvey:
    def __init__(self, port: SurveyPort, *, read_form: FormReader, voice: dict[str, str]) -> None:
        self._port = port
        self._form = read_form
        self._voice = voice

    def routes(self) -> Sequence[web.RouteDef]:
        return [
            web.post(QUESTION, self.question),
            web.post(KEY, self.key),
            web.post(REASON, self.reason),
            web.post(STATUS, self.status),
        ]

    async def question(self, request: web.Request) -> web.Response:
        await self._form(request)
        callback_id = _callback_id(request)
        text = await self._port.call_question(callback_id)
        if text is None:
            return _twiml(_say_and_hang_up([wording.SPOKEN_GOODBYE], self._voice))
        return _twiml(self._ask(callback_id, text, tries=1))

    async def key(self, request: web.Request) -> web.Response:
        form = await self._form(request)
        callback_id = _callback_id(request)
        tries = _tries(request)
        answer = await self._port.press(callback_id, form.get("Digits", ""))
        if not answer.valid:
            if tries >= MAX_TRIES:
                return _twiml(_say_and_hang_up([wording.SPOKEN_GOODBYE], self._voice))
            return _twiml(self._ask(callback_id, answer.text, tries=tries + 1))
        if not answer.ask_reason:
            return _twiml(_say_and_hang_up([answer.text, "再见。"], self._voice))
        gather = Gather(
            input="speech",
            language=self._voice["language"],
            action=f"{REASON}?cb={callback_id}",
            method="POST",
            speech_timeout="auto",
            action_on_empty_result=True,
        )
        gather.say(answer.text, **self._voice)
        gather.say(wording.ASK_REASON_SPOKEN, **self._voice)
        response = VoiceResponse()
        response.append(gather)
        return _twiml(response)

    async def reason(self, request: web.Request) -> web.Response:
        form = await self._form(request)
        said = form.get("SpeechResult", "").strip()
        text = await self._port.spoken_reason(_callback_id(request), said)
        return _twiml(_say_and_hang_up([text, "再见。"], self._voice))

    async def status(self, request: web.Request) -> web.Response:
        form = await self._form(request)
        status = form.get("CallStatus", "")
        if not status:
            raise BadRequest("CallStatus is required", code="malformed_form")
        await self._port.call_ended(_callback_id(request), status)
        return _twiml(VoiceResponse())

    def _ask(self, callback_id: int, text: str, *, tries: int) -> VoiceResponse:
        gather = Gather(
            input="dtmf",
            num_digits=1,
            timeout=8,
            action=f"{KEY}?cb={callback_id}&try={tries}",
            method="POST",
            action_on_empty_result=True,
        )
        gather.say(text, **self._voice)
        response = VoiceResponse()
        response.append(gather)
        return response


def _say_and_hang_up(texts: Sequence[str], voice: dict[str, str]) -> VoiceResponse:
    response = VoiceResponse()
    for text in texts:
        response.say(text, **voice)
    response.hangup()
    return response


def _callback_id(request: web.Request) -> int:
    raw = request.query.get("cb", "")
    if not (raw.isascii() and raw.isdigit() and len(raw) < 12):
        raise BadRequest("cb: the callback id is missing or not a number", code="malformed_url")
    return int(raw)


def _tries(request: web.Request) -> int:
    raw = request.query.get("try", "1")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 3 else 1


def _twiml(response: VoiceResponse) -> web.Response:
    return web.Response(text=str(response), content_type="text/xml")
