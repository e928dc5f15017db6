"""The one inbound and one outbound model every channel speaks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hotline.storage.types import utcnow


@dataclass(frozen=True)
class Location:
    latitude: float | None = None
    longitude: float | None = None
    address: str | None = None


@dataclass(frozen=True)
class Attachment:
    """Metadata of a stored file; the bytes live under the data directory by content hash."""

    filename: str
    content_type: str
    size: int
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
            "sha256": self.sha256,
        }


@dataclass(frozen=True)
class InboundMessage:
    """A citizen's message, normalised at the channel's edge."""

    channel: str
    #: the channel's address for the citizen (app user id, openid, chat id, phone, e-mail)
    sender: str
    #: the channel's id for this delivery; the same id is never processed twice
    external_id: str
    text: str
    received_at: datetime = field(default_factory=utcnow)
    #: a phone number the channel itself knows (caller id, SMS sender, a form field)
    contact_phone: str | None = None
    #: an e-mail address given in a form (Open311's ``email``, the letter box's), in lower case
    contact_email: str | None = None
    contact_name: str | None = None
    location: Location | None = None
    attachments: tuple[Attachment, ...] = ()
    #: False when nobody checked that the sender holds the address (a letter's phone without
    #: an SMS code): the writer is then a citizen of their own, identified by nothing
    sender_verified: bool = True


@dataclass(frozen=True)
class OutboundReply:
    """What we say back; channels render it (text, TwiML, WeChat XML...)."""

    text: str
    #: a shorter version for text-to-speech on the phone, when it differs
    spoken: str | None = None
    #: quick-reply choices a channel may render as buttons or keypad options
    choices: tuple[str, ...] = ()
    #: an instruction for voice channels, e.g. "transfer:119"
    action: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"text": self.text}
        if self.spoken:
            data["spoken"] = self.spoken
        if self.choices:
            data["choices"] = list(self.choices)
        if self.action:
            data["action"] = self.action
        return data


@dataclass(frozen=True)
class TicketRef:
    number: str
    status: str


@dataclass(frozen=True)
class IntakeResult:
    """The answer to one inbound message; a repeated delivery gets the first answer again."""

    conversation_id: str
    message_id: int
    replies: tuple[OutboundReply, ...]
    ticket: TicketRef | None = None
    repeated: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "conversation_id": self.conversation_id,
            "message_id": self.message_id,
            "replies": [reply.to_dict() for reply in self.replies],
            "ticket": None
            if self.ticket is None
            else {"number": self.ticket.number, "status": self.ticket.status},
            "repeated": self.repeated,
        }
