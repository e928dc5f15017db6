"""The hotline number through Twilio: a speech IVR in Mandarin, and SMS.

Every webhook is checked with Twilio's own ``RequestValidator`` over the configured public URL
before anything is read into the intake (fail closed). A call is a conversation: each turn is a
``<Gather input="speech">`` whose result goes through the intake, and the reply is spoken
(the short spoken version where the knowledge base has one) inside the next gather. An
emergency is said and then dialled through (``<Dial>``, 两线联动). The caller's number is the
contact phone, so the intake does not have to ask for it. Twilio may repeat a request; the turn
number in each gather's action URL makes the repeat the same message, answered the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from urllib.parse import parse_qsl, urlencode

from aiohttp import web
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import Gather, VoiceResponse

from hotline.channels.base import IntakePort
from hotline.channels.twilio.agents import LISTEN, TwilioAgentRoutes, enqueue
from hotline.channels.twilio.config import TwilioConfig
from hotline.errors import BadRequest, Unauthorized, UnsupportedMediaType
from hotline.intake.messages import InboundMessage, IntakeResult
from hotline.web.bodies import read_limited

log = logging.getLogger(__name__)

VOICE = "/channels/twilio/voice"
GATHER = "/channels/twilio/voice/gather"
SMS = "/channels/twilio/sms"
SMS_LIMIT = 1600  # characters Twilio sends as one (concatenated) SMS
SMS_CUT_NOTE = "……（详见12345热线）"
NOT_HEARD = "抱歉，没有听清，请再说一遍您的诉求。"
GOODBYE = "没有听到您的声音，感谢来电，再见。"
ANYTHING_ELSE = "还有其他问题吗？没有的话可以直接挂机。"


class TwilioAdapter:
    name = "twilio"

    def __init__(self, config: TwilioConfig, port: IntakePort) -> None:
        self._config = config
        self._port = port
        self._validator = RequestValidator(config.auth_token)

    def routes(self) -> Sequence[web.RouteDef]:
        routes = [
            web.post(VOICE, self.call),
            web.post(GATHER, self.gather),
            web.post(LISTEN, self.listen),
            web.post(SMS, self.sms),
        ]
        agents = TwilioAgentRoutes(self._config, read_form=self._form, database=self._port.database)
        routes.extend(agents.routes())
        if self._port.callbacks is not None:
            from hotline.channels.twilio.survey import TwilioSurvey

            survey = TwilioSurvey(self._port.callbacks, read_form=self._form, voice=self._voice())
            routes.extend(survey.routes())
        return routes

    async def call(self, request: web.Request) -> web.Response:
        """A new call: greet and listen."""
        form = await self._form(request)
        log.info("twilio.call", extra={"call": form.get("CallSid", "")})
        return self._twiml(self._listen([self._config.greeting], turn=1))

    async def listen(self, request: web.Request) -> web.Response:
        """Listen for the request again (a caller back from the agents' queue)."""
        await self._form(request)
        return self._twiml(self._listen([], turn=_int(request, "turn", 1)))

    async def gather(self, request: web.Request) -> web.Response:
        """One turn: what the caller said (Twilio's speech recognition) through the intake."""
        form = await self._form(request)
        turn, silences = _int(request, "turn", 1), _int(request, "silences", 0)
        choices = tuple(c for c in request.query.get("choices", "").split("|") if c)
        speech = form.get("SpeechResult", "").strip() or pressed(form.get("Digits", ""), choices)
        if not speech:
            if silences + 1 >= self._config.max_silences:
                response = VoiceResponse()
                response.say(GOODBYE, **self._voice())
                response.hangup()
                return self._twiml(response)
            again = self._listen([NOT_HEARD], turn=turn, silences=silences + 1, choices=choices)
            return self._twiml(again)
        call, caller = form.get("CallSid", ""), form.get("From", "")
        if not call or not caller:
            raise BadRequest("CallSid and From are required", code="malformed_form")
        result = await self._port.pipeline.submit(
            InboundMessage(
                channel="phone",
                sender=caller,
                external_id=f"{call}:{turn}",
                text=speech,
                contact_phone=known_number(caller),
            )
        )
        return self._twiml(self._speak(result, turn))

    async def sms(self, request: web.Request) -> web.Response:
        form = await self._form(request)
        body, sender, sid = (
            form.get("Body", "").strip(),
            form.get("From", ""),
            form.get("MessageSid", ""),
        )
        if not sender or not sid:
            raise BadRequest("From and MessageSid are required", code="malformed_form")
        response = MessagingResponse()
        if body:
            message = InboundMessage(
                channel="sms",
                sender=sender,
                external_id=sid,
                text=body,
                contact_phone=known_number(sender),
            )
            result = await self._port.pipeline.submit(message)
            text = "\n\n".join(reply.text for reply in result.replies)
            if text:
                response.message(fit_sms(text))
        return self._twiml(response)

    # -- TwiML -------------------------------------------------------------------------------

    def _speak(self, result: IntakeResult, turn: int) -> VoiceResponse:
        actions = [reply.action or "" for reply in result.replies]
        transfer = next(
            (a.removeprefix("transfer:") for a in actions if a.startswith("transfer:")), None
        )
        spoken = [reply.spoken or reply.text for reply in result.replies]
        if "handoff" in actions:  # 转人工: wait in the agents' queue
            response = VoiceResponse()
            for text in spoken:
                response.say(text, **self._voice())
            return enqueue(response, self._config)
        if transfer is not None:
            response = VoiceResponse()
            for text in spoken:
                response.say(text, **self._voice())
            response.dial(self._config.emergency_numbers.get(transfer, transfer))
            return response
        if result.ticket is not None:
            spoken.append(ANYTHING_ELSE)
        choices = next((r.choices for r in reversed(result.replies) if r.choices), ())
        return self._listen(spoken, turn=turn + 1, choices=choices)

    def _listen(
        self, texts: Sequence[str], *, turn: int, silences: int = 0, choices: Sequence[str] = ()
    ) -> VoiceResponse:
        """A speech turn; with ``choices`` the keypad answers too (press 1 for the first…).

        The choices ride in the action URL, which Twilio signs back to us, so the next request
        knows what each key meant without any state on the server.
        """
        action = f"{GATHER}?turn={turn}&silences={silences}"
        keys = [c for c in choices if "|" not in c][:9]
        if keys:
            action += "&" + urlencode({"choices": "|".join(keys)})
        gather = Gather(
            input="dtmf speech" if keys else "speech",
            language=self._config.language,
            action=action,
            method="POST",
            speech_timeout="auto",
            action_on_empty_result=True,
            **({"num_digits": 1} if keys else {}),
        )
        for text in texts:
            gather.say(text, **self._voice())
        if keys:
            # A numbered list ("1. …") already says its keys; other choices are announced.
            named = [f"按{i}{c}" for i, c in enumerate(keys, start=1) if c != str(i)]
            if named:
                gather.say("，".join(named) + "。", **self._voice())
        response = VoiceResponse()
        response.append(gather)
        return response

    def _voice(self) -> dict[str, str]:
        return {"language": self._config.language, "voice": self._config.voice}

    @staticmethod
    def _twiml(response: VoiceResponse | MessagingResponse) -> web.Response:
        return web.Response(text=str(response), content_type="text/xml")

    # -- requests ----------------------------------------------------------------------------

    async def _form(self, request: web.Request) -> dict[str, str]:
        """The signed form; 401 unless Twilio's signature holds for our public URL."""
        if request.content_type != "application/x-www-form-urlencoded":
            raise UnsupportedMediaType("Twilio webhooks are application/x-www-form-urlencoded")
        raw = await read_limited(request, self._config.max_body_bytes, "a webhook")
        try:
            form = dict(
                parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
            )
        except UnicodeDecodeError as e:
            raise BadRequest("the form is not UTF-8", code="malformed_form") from e
        url = self._config.public_base_url.rstrip("/") + request.raw_path  # as Twilio asked
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature or not self._validator.validate(url, form, signature):
            raise Unauthorized("X-Twilio-Signature does not match", code="bad_signature")
        return form


def pressed(digits: str, choices: Sequence[str]) -> str:
    """The choice a keypad digit picks (1 = the first); a digit without choices stands as is."""
    digits = digits.strip()
    if digits.isascii() and digits.isdigit() and choices:
        index = int(digits) - 1
        return choices[index] if 0 <= index < len(choices) else ""
    return digits


def _int(request: web.Request, name: str, default: int) -> int:
    raw = request.query.get(name, "")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 6 else default


def fit_sms(text: str) -> str:
    return text if len(text) <= SMS_LIMIT else text[: SMS_LIMIT - len(SMS_CUT_NOTE)] + SMS_CUT_NOTE


def known_number(caller: str) -> str | None:
    """The caller id as a contact phone: Twilio gives numbers as E.164, and words for a
    withheld one ("anonymous", "restricted"), which is nobody's number."""
    return caller if caller.startswith("+") else None
