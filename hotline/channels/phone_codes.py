"""Codes sent by SMS that prove a letter's writer holds the phone they give (短信验证码).

A letter's phone is a claim: typed on a form, it is anybody's. With SMS configured the letter
box asks first for a code sent to that phone (``POST /api/v1/letters/phone-code``) and files
the letter in the name of the number's holder only with that code
(:meth:`PhoneCodes.prove`); each phone gets a code at most once per interval and a few per
hour (429), a code lasts minutes and a few wrong tries.

The code goes out like every later message to a citizen: an SMS in the holder's thread,
pushed by the workers through the outbox. No code is ever stored: the row keeps a random
``nonce`` and an HMAC of the code, the stored SMS says :data:`HIDDEN` where the code goes, and
the push worker makes the code from the nonce only as it hands the SMS to the provider
(:func:`fill`), like a rating link's token. The key is derived from the Twilio auth token,
the secret every process that sends SMS already has; a new auth token ends the codes still
waiting (they last minutes).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.config import Config
from hotline.errors import ConfigError, Forbidden, TooManyRequests
from hotline.intake import records
from hotline.intake.outgoing import Outgoing
from hotline.nlu.masking import mask_phone
from hotline.storage.db import Database
from hotline.storage.models import Citizen, ContactKind, Message, PhoneCode
from hotline.storage.repos import citizens, conversations
from hotline.storage.types import utcnow

#: where the code goes, in the stored SMS and every view of it
HIDDEN = "[验证码]"
#: the key of the stored SMS's ``meta`` that names the code to put in when it is sent
META = "phone_code"
AUTHOR = "system:phone_code"
SMS_CHANNEL = "sms"
#: keeps this key apart from anything else derived from the same secret
_CONTEXT = b"hotline.letter-phone-code.v1\x00"
_HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class CodeRules:
    lifetime: timedelta = timedelta(minutes=10)
    #: wrong codes tried before the code is spent
    attempts: int = 5
    #: a phone gets a new code at most this often, and ``per_hour`` in an hour
    interval: timedelta = timedelta(seconds=60)
    per_hour: int = 5


@dataclass(frozen=True)
class CodeKey:
    """Makes a code from its nonce, and the hash a typed code is checked against."""

    key: bytes = field(repr=False)

    @classmethod
    def from_secret(cls, secret: str) -> CodeKey:
        return cls(hmac.new(secret.encode(), _CONTEXT, hashlib.sha256).digest())

    def code(self, nonce: str) -> str:
        mac = hmac.new(self.key, b"code\x00" + nonce.encode(), hashlib.sha256).digest()
        return f"{int.from_bytes(mac[:8], 'big') % 1_000_000:06d}"

    def digest(self, nonce: str, code: str) -> str:
        message = b"check\x00" + nonce.encode() + b"\x00" + code.encode()
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()


def key_of(config: Config) -> CodeKey | None:
    """The key of the letter box's codes, wherever SMS is configured."""
    return CodeKey.from_secret(config.channels.twilio.auth_token) if config.sms_configured else None


def rules_of(config: Config) -> CodeRules:
    letters = config.channels.letters
    return CodeRules(
        lifetime=timedelta(minutes=letters.code_minutes),
        attempts=letters.code_attempts,
        interval=timedelta(seconds=letters.code_interval_seconds),
        per_hour=letters.codes_per_hour,
    )


def sms_text(rules: CodeRules) -> str:
    minutes = f"{rules.lifetime / timedelta(minutes=1):g}"
    return (
        f"【12345】您的市民信箱验证码为{HIDDEN}，{minutes}分钟内有效。如非本人操作，请忽略本短信。"
    )


def fill(text: str, meta: Mapping[str, Any], key: CodeKey | None) -> str:
    """``text`` as handed to the provider: the code put in where the stored text has
    :data:`HIDDEN`; any other text is sent as stored."""
    ref = meta.get(META)
    if ref is None:
        return text
    if key is None:
        raise ConfigError(
            "an SMS carries a letter's phone code, but this process sends SMS without "
            "channels.twilio's auth token to make it: configure channels.twilio as on the server"
        )
    return text.replace(HIDDEN, key.code(str(ref["nonce"])), 1)


class PhoneCodes:
    """Sends a phone its code and proves a letter's phone with it."""

    def __init__(
        self, database: Database, writer: Outgoing, key: CodeKey, rules: CodeRules
    ) -> None:
        self._database = database
        self._writer = writer
        self._key = key
        self.rules = rules

    async def send(self, phone: str) -> PhoneCode:
        """Queue an SMS with a new code to ``phone`` (E.164) in its holder's thread; raises
        TooManyRequests (429) when the phone had one too recently."""
        try:
            return await self._send(phone)
        except IntegrityError:  # two first requests for a number nobody had: the other won
            return await self._send(phone)

    async def _send(self, phone: str) -> PhoneCode:
        async with self._database.session() as session:
            # The holder of the number (a citizen identified by it from now on, as a caller
            # would be): the SMS goes in their thread, and requests for one number take turns.
            # Never a citizen who only typed it: they give it up to a new holder, who is
            # whoever proves it.
            holder = await citizens.identify(session, kind=ContactKind.PHONE, value=phone)
            await session.execute(
                select(Citizen.id).where(Citizen.id == holder.id).with_for_update()
            )
            now = utcnow()
            await self._check_rate(session, phone, now)
            nonce = secrets.token_hex(16)
            row = PhoneCode(
                phone=phone,
                nonce=nonce,
                code_hash=self._key.digest(nonce, self._key.code(nonce)),
                expires_at=now + self.rules.lifetime,
                created_at=now,
            )
            session.add(row)
            message = await self._write(session, holder, phone, nonce)
        self._writer.announce([message])
        return row

    async def _write(
        self, session: AsyncSession, holder: Citizen, phone: str, nonce: str
    ) -> Message:
        thread = await conversations.start(
            session, citizen_id=records.citizen_id(holder), channel=SMS_CHANNEL, address=phone
        )
        return await self._writer.write_to_citizen(
            session,
            conversation_id=thread.id,
            text=sms_text(self.rules),
            author=AUTHOR,
            meta={META: {"nonce": nonce}},
        )

    async def _check_rate(self, session: AsyncSession, phone: str, now: datetime) -> None:
        sent = (
            (
                await session.execute(
                    select(PhoneCode.created_at)
                    .where(PhoneCode.phone == phone, col(PhoneCode.created_at) > now - _HOUR)
                    .order_by(col(PhoneCode.created_at).desc())
                )
            )
            .scalars()
            .all()
        )
        if sent and now - sent[0] < self.rules.interval:
            wait = _seconds(sent[0] + self.rules.interval - now)
            raise TooManyRequests(
                f"phone: a code was sent to {mask_phone(phone)} moments ago; ask again in {wait} s",
                retry_after=wait,
                code="phone_code_too_soon",
            )
        if len(sent) >= self.rules.per_hour:
            wait = _seconds(sent[-1] + _HOUR - now)
            raise TooManyRequests(
                f"phone: {mask_phone(phone)} had {len(sent)} codes in the last hour, the most "
                f"it may; ask again in {math.ceil(wait / 60)} min",
                retry_after=wait,
                code="phone_code_limit",
            )

    async def prove(self, phone: str, code: str, *, letter: str) -> None:
        """Pass when ``code`` is the one last sent to ``phone`` and unused (or used by this
        very ``letter``, sent again); else raise Forbidden (403) saying why. A wrong code
        counts against the code's tries, stored whatever the caller does next."""
        async with self._database.session() as session:
            row = (
                await session.execute(
                    select(PhoneCode)
                    .where(PhoneCode.phone == phone)
                    .order_by(col(PhoneCode.created_at).desc(), col(PhoneCode.id).desc())
                    .limit(1)
                    .with_for_update()
                )
            ).scalar_one_or_none()
            refusal = self._refusal(row, code, letter)
            if row is not None:
                if refusal is None:
                    row.used_at, row.used_for = row.used_at or utcnow(), letter
                session.add(row)  # used, or one more wrong try
        if refusal is not None:
            raise refusal

    def _refusal(self, row: PhoneCode | None, code: str, letter: str) -> Forbidden | None:
        """Why ``code`` does not prove the phone (``row``: the code last sent), or None; a
        wrong code is counted on ``row``."""
        minutes = f"{self.rules.lifetime / timedelta(minutes=1):g}"
        if row is None or row.expires_at <= utcnow():
            return Forbidden(
                f"phone_code: no code sent to this phone is still valid (a code lasts {minutes} "
                "minutes): ask for a new one",
                code="phone_code_expired",
            )
        if row.used_at is not None and row.used_for != letter:
            return Forbidden(
                "phone_code: this code was already used for another letter: ask for a new one",
                code="phone_code_used",
            )
        if row.attempts >= self.rules.attempts:
            return Forbidden(
                "phone_code: too many wrong codes for this phone: ask for a new one",
                code="phone_code_locked",
            )
        if not hmac.compare_digest(self._key.digest(row.nonce, code), row.code_hash):
            row.attempts += 1
            left = self.rules.attempts - row.attempts
            return Forbidden(
                f"phone_code: not the code sent to this phone; {left} tries left",
                code="phone_code_wrong",
            )
        return None


def _seconds(delta: timedelta) -> int:
    return max(1, math.ceil(delta.total_seconds()))
