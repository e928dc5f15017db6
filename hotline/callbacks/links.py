"""Signed links to the rating page (回访评价页): a citizen asked by SMS or mail may rate there.

A link is ``<base_url>/r/<token>``. The token holds the callback's id and the moment its
question stops waiting for an answer (the ``expires_at`` of that attempt, whole seconds),
followed by an HMAC-SHA256 of both under the server's secret (``callbacks.link.secret``), cut
to 128 bits: 24 bytes, 32 characters of URL-safe base64, short enough for an SMS. Without the
secret nobody can make a token for another callback or a later time; callback ids are not
secret. The page checks the signature, then the time, then that the callback still waits for
the answer to that very attempt (:meth:`hotline.callbacks.service.Callbacks.rate_by_link`).

No token is ever stored, not even in the question sent: whoever holds one can rate in the
citizen's place, and a database, its backups and every view of a transcript reach far more
people than the citizen's phone. The stored text says ``<base_url>/r/…`` where the link goes
(what staff see anyway) and the message's ``meta`` names the callback and the expiry
(:func:`reference`); the push worker signs the token only as it hands the message to the SMS
or mail provider (:func:`fill`). The token depends on nothing else, so every retry of a send
carries the same working link. A question stored with its token before this (no reference) is
sent as stored; its token works until it expires, and staff views cut it off (:func:`hide_tokens`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from hotline.callbacks import wording
from hotline.errors import ConfigError, Gone, NotFound
from hotline.storage.types import utcnow

PATH = "/r/"
#: where the token goes, in the stored text and in every view of it
HIDDEN = PATH + "…"
#: the key of a stored question's ``meta`` that names the link to put in when it is sent
META = "rating_link"
#: the channels whose question carries the link: a text message or a mail opens a web page
LINK_CHANNELS = frozenset({"sms", "email"})
#: keeps these MACs apart from anything else the same secret might ever sign
_CONTEXT = b"hotline.rating-link.v1\x00"
#: the callback id (an INTEGER column) and the expiry in Unix seconds
_PAYLOAD = struct.Struct(">II")
_MAC_BYTES = 16
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")
#: a link inside a message's text
_LINK_IN_TEXT = re.compile(re.escape(PATH) + r"[A-Za-z0-9_-]{32}(?![A-Za-z0-9_-])")


def hide_tokens(text: str) -> str:
    """``text`` with every rating link's token cut off.

    Staff views show the question a citizen was sent; with the token, anyone on the desk
    could open the page and rate in the citizen's place (满意率 is a performance figure).
    """
    return _LINK_IN_TEXT.sub(HIDDEN, text)


@dataclass(frozen=True)
class LinkClaim:
    """What a token we signed says: which callback, and until when it may be answered."""

    callback_id: int
    expires_at: datetime

    def sent_for(self, expires_at: datetime | None) -> bool:
        """Whether the link was sent with the attempt that waits until ``expires_at``."""
        return expires_at is not None and _seconds(expires_at) == _seconds(self.expires_at)


@dataclass(frozen=True)
class RatingLinks:
    """Makes and checks the links under one base URL and secret."""

    base_url: str
    secret: bytes = field(repr=False)

    def token(self, callback_id: int, expires_at: datetime) -> str:
        payload = _PAYLOAD.pack(callback_id, _seconds(expires_at))
        return base64.urlsafe_b64encode(payload + self._mac(payload)).decode("ascii")

    def read(self, token: str, *, now: datetime | None = None) -> LinkClaim:
        """The claim of a token we signed: NotFound for any other (it says nothing about the
        callback), Gone once its time is up."""
        if not _TOKEN.fullmatch(token):
            raise NotFound(wording.LINK_INVALID, code="bad_link")
        raw = base64.urlsafe_b64decode(token)
        payload, mac = raw[: _PAYLOAD.size], raw[_PAYLOAD.size :]
        if not hmac.compare_digest(mac, self._mac(payload)):
            raise NotFound(wording.LINK_INVALID, code="bad_link")
        callback_id, until = _PAYLOAD.unpack(payload)
        expires_at = datetime.fromtimestamp(until, UTC)
        if expires_at <= (now or utcnow()):
            raise Gone(wording.LINK_EXPIRED, code="link_expired")
        return LinkClaim(callback_id, expires_at)

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self.secret, _CONTEXT + payload, hashlib.sha256).digest()[:_MAC_BYTES]


@dataclass(frozen=True)
class Question:
    """A question as stored: its text, with ``/r/…`` where a link goes, and the message's meta."""

    text: str
    meta: dict[str, Any] = field(default_factory=dict)


def question(
    links: RatingLinks | None,
    *,
    number: str,
    channel: str,
    callback_id: int,
    expires_at: datetime,
    timezone: str,
) -> Question:
    """The question on ``channel``; by SMS or mail with the link, when links are on."""
    if links is None or channel not in LINK_CHANNELS:
        return Question(wording.question(number))
    link = links.base_url.rstrip("/") + HIDDEN
    if channel == "sms":
        text = wording.sms_question(number, link)
    else:
        text = wording.mail_question(number, link, until=local_time(expires_at, timezone))
    return Question(text, reference(callback_id, expires_at))


def reference(callback_id: int, expires_at: datetime) -> dict[str, Any]:
    """What a stored question keeps instead of the token: enough to sign it again."""
    return {META: {"callback": callback_id, "until": _seconds(expires_at)}}


def fill(text: str, meta: Mapping[str, Any], links: RatingLinks | None) -> str:
    """``text`` as handed to the provider: the token put in where the stored text has
    ``/r/…``, signed for the callback and expiry ``meta`` names. Any other text (no
    reference) is sent as stored; ConfigError when there is a link to sign without a secret."""
    ref = meta.get(META)
    if ref is None:
        return text
    if links is None:
        raise ConfigError(
            "a satisfaction question carries a rating link, but callbacks.link.base_url is not "
            "set where it is sent: set callbacks.link.base_url and HOTLINE_RATING_LINK_SECRET "
            "as on the server that serves the rating page"
        )
    expires_at = datetime.fromtimestamp(int(ref["until"]), UTC)
    return text.replace(HIDDEN, PATH + links.token(int(ref["callback"]), expires_at), 1)


def local_time(at: datetime, timezone: str) -> str:
    return f"{at.astimezone(ZoneInfo(timezone)):%Y-%m-%d %H:%M}"


def _seconds(at: datetime) -> int:
    return int(at.timestamp())
