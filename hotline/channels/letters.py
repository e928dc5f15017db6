"""The web letter box (市长信箱): a form that creates a ticket at once.

Accepts JSON, or multipart/form-data when files are attached. Attachments are streamed and
cut off at the configured size, count and content types, so a huge upload is refused early.

The phone is the writer's identity on this channel only once it is proven: with SMS
configured (``channels.letters.verify_phone``), the form first asks for a code sent to the
phone (``POST /api/v1/letters/phone-code``, :mod:`hotline.channels.phone_codes`) and the
letter carries it (``phone_code``); a wrong, spent or expired code is refused (403) and nothing
is filed. Without verification the letter is still taken, but the phone is a claim: the writer
is a citizen of their own, never the number's owner; the ticket keeps the phone to answer at,
and its history says it is unverified. Phones are stored as E.164 (:mod:`hotline.phones`).

An e-mail address is optional: the ticket keeps it, and with the e-mail channel the result and
the satisfaction callback are mailed there, also when it belongs to another citizen (a relative
writing on someone's behalf); it is attached to the writer only when nobody owns it yet.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from aiohttp import BodyPartReader, web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from hotline.channels.base import IntakePort
from hotline.channels.phone_codes import PhoneCodes
from hotline.config import AppChannelConfig, LettersConfig
from hotline.errors import (
    BadRequest,
    Conflict,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from hotline.intake.messages import Attachment, InboundMessage
from hotline.intake.tickets import TicketRequest
from hotline.nlu.masking import mask_phone
from hotline.phones import DEFAULT_COUNTRY, canonical, is_mobile
from hotline.storage.files import AttachmentStore
from hotline.web.bodies import describe, read_json
from hotline.web.responses import json_response
from hotline.web.security import check_api_key

_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
_FIELD_LIMIT = 64 * 1024


class LetterIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    title: str = Field(min_length=1, max_length=100)
    content: str = Field(min_length=1, max_length=4000)
    name: str = Field(min_length=1, max_length=50)
    phone: str = Field(min_length=7, max_length=20)
    #: where to send the reply, when the writer wants it by mail
    email: str | None = Field(None, max_length=254, pattern=_EMAIL)
    area: str | None = Field(None, max_length=100)
    #: the form's own id for this submission; resubmitting it returns the same ticket
    letter_id: str | None = Field(None, min_length=1, max_length=128)
    #: the code sent to ``phone`` by SMS, when the letter box verifies phones
    phone_code: str | None = Field(None, pattern=r"^\d{6}$")

    @field_validator("email", mode="before")
    @classmethod
    def _email(cls, value: object) -> object:
        # a form's empty field is no address; lower case, as the e-mail channel keeps addresses
        if isinstance(value, str):
            return value.strip().lower() or None
        return value


class PhoneCodeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    phone: str = Field(min_length=7, max_length=20)


class LettersChannel:
    name = "letter"

    def __init__(
        self,
        config: LettersConfig,
        app_config: AppChannelConfig,
        port: IntakePort,
        *,
        codes: PhoneCodes | None = None,
        country_code: str = DEFAULT_COUNTRY,
    ) -> None:
        self._config = config
        self._api_key = app_config.api_key
        self._port = port
        self._store = AttachmentStore(port.data_dir / "attachments")
        #: None: phones are not verified (no SMS), letters are filed as unverified
        self._codes = codes
        self._country = country_code

    def routes(self) -> Sequence[web.RouteDef]:
        return [
            web.post("/api/v1/letters", self.post_letter),
            web.post("/api/v1/letters/phone-code", self.post_phone_code),
        ]

    async def post_phone_code(self, request: web.Request) -> web.Response:
        """Send the code a letter for this phone will carry (202); 429 when asked too soon."""
        check_api_key(request, self._api_key)
        body = await read_json(request, PhoneCodeIn)
        if self._codes is None:
            raise Conflict(
                "phone codes are not in use here: letters are filed without one",
                code="phone_codes_off",
            )
        phone = canonical(body.phone, self._country)
        if not is_mobile(phone, self._country):
            raise ValidationFailed("phone: codes are sent by SMS: give a mobile number")
        sent = await self._codes.send(phone)
        return json_response(
            {
                "phone": mask_phone(phone),
                "expires_at": sent.expires_at.isoformat(),
                "resend_after_seconds": int(self._codes.rules.interval.total_seconds()),
            },
            status=202,
        )

    async def post_letter(self, request: web.Request) -> web.Response:
        check_api_key(request, self._api_key)
        if request.content_type == "multipart/form-data":
            letter, attachments = await self._read_multipart(request)
        elif request.content_type == "application/json":
            if request.content_length and request.content_length > _FIELD_LIMIT:
                raise PayloadTooLarge(f"a JSON letter is limited to {_FIELD_LIMIT} bytes")
            letter, attachments = await read_json(request, LetterIn), []
        else:
            raise UnsupportedMediaType("send application/json, or multipart/form-data with files")
        key = letter.letter_id or request.headers.get("Idempotency-Key") or uuid.uuid4().hex
        phone = canonical(letter.phone, self._country)
        message = InboundMessage(
            channel="letter",
            sender=phone,
            external_id=key,
            text=f"{letter.title}\n{letter.content}",
            contact_phone=phone,
            contact_email=letter.email,
            contact_name=letter.name,
            attachments=tuple(attachments),
            sender_verified=self._codes is not None,
        )
        ticket_request = TicketRequest(
            description=letter.content,
            title=letter.title,
            area=letter.area,
            contact_phone=phone,
            contact_email=letter.email,
            contact_name=letter.name,
        )
        pipeline = self._port.pipeline
        # a letter sent again (its letter_id) gets its first answer; a new one needs the code
        if self._codes is not None and await pipeline.replay(message) is None:
            await _prove(self._codes, phone, letter.phone_code, key)
        result = await pipeline.submit_letter(message, ticket_request)
        return json_response(result.to_dict(), status=200 if result.repeated else 201)

    async def _read_multipart(self, request: web.Request) -> tuple[LetterIn, list[Attachment]]:
        fields: dict[str, str] = {}
        attachments: list[Attachment] = []
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                raise BadRequest("nested multipart bodies are not accepted")
            if part.filename:
                attachments.append(await self._read_file(part, len(attachments)))
            elif part.name:
                raw = await _read_limited(part, _FIELD_LIMIT, f"field {part.name!r}")
                fields[part.name] = raw.decode("utf-8", "replace")
        try:
            return LetterIn.model_validate(fields), attachments
        except ValidationError as e:
            raise ValidationFailed(describe(e)) from e

    async def _read_file(self, part: BodyPartReader, count: int) -> Attachment:
        if count >= self._config.max_attachments:
            raise PayloadTooLarge(f"at most {self._config.max_attachments} attachments")
        content_type = part.headers.get("Content-Type", "application/octet-stream").split(";")[0]
        if content_type not in self._config.allowed_content_types:
            allowed = ", ".join(self._config.allowed_content_types)
            raise UnsupportedMediaType(
                f"attachment {part.filename!r}: type {content_type} not allowed ({allowed})"
            )
        data = await _read_limited(
            part, self._config.max_attachment_bytes, f"attachment {part.filename!r}"
        )
        return self._store.put(data, filename=part.filename or "file", content_type=content_type)


async def _prove(codes: PhoneCodes, phone: str, code: str | None, letter: str) -> None:
    if code is None:
        raise ValidationFailed(
            "phone_code: required; ask for the code with POST /api/v1/letters/phone-code"
        )
    await codes.prove(phone, code, letter=letter)


async def _read_limited(part: BodyPartReader, limit: int, what: str) -> bytes:
    data = bytearray()
    while chunk := await part.read_chunk(64 * 1024):
        data.extend(chunk)
        if len(data) > limit:
            raise PayloadTooLarge(f"{what} exceeds {limit} bytes")
    return bytes(data)
