"""One fetched mail read with the stdlib ``email`` package into what the intake needs.

The parser (``policy.default``) never trusts a declared charset blindly (see
:mod:`hotline.channels.email.decode`), prefers ``text/plain`` to HTML, cuts quoted replies and
reads the headers that say a mail was written by a machine (RFC 3834 ``Auto-Submitted``,
``Precedence``, ``List-Id``, bounces) so that nothing automatic is ever answered. A person's
mail is answered at its ``Reply-To`` address, as mail clients do, unless that is a robot's
(a no-reply or bounce address, an auto-responder, a list): then at From.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses

from hotline.channels.email.decode import decode_bytes, decode_header_value, html_to_text
from hotline.channels.email.quotes import strip_quoted
from hotline.errors import ChannelError

_MSG_ID = re.compile(r"<[^<>\s]+>")
_ADDRESS = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")
#: an external id is at most this long (the intake's limit); longer Message-IDs are hashed
EXTERNAL_ID_CHARS = 128
#: the longest address SMTP carries (RFC 5321: a path of 256 octets with its brackets)
MAX_ADDRESS_CHARS = 254
#: local parts of machine senders: bounces, notifications nobody reads
MACHINE_SENDERS = frozenset(
    {"mailer-daemon", "postmaster", "noreply", "no-reply", "donotreply", "do-not-reply"}
)
#: local parts of Reply-To addresses that a robot reads (or nobody): never answered there
_ROBOT_LOCAL = re.compile(
    r"^(no-?reply|do-?not-?reply|bounces?|auto-?(reply|responder|response)|autoresponder"
    r"|mailer-daemon|postmaster|listserv|majordomo|owner-.+|.+-(bounces?|owner|request))"
    r"([+._-].*)?$"
)
_AUTOMATIC_HEADERS = (
    "x-autoreply", "x-autorespond", "x-auto-response-suppress", "list-id", "list-unsubscribe",
)  # fmt: skip


class MalformedMail(ChannelError):
    """A mail we cannot read; ``reason`` is what its sender is told (in Chinese)."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message, code="malformed_mail")
        self.reason = reason


@dataclass(frozen=True)
class MailFile:
    """An attached file as it came in; the channel decides whether it may be stored."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class ParsedMail:
    #: where we answer, in lower case, and the citizen's identity on this channel: the
    #: Reply-To address when it names a person (what mail clients answer), else From
    sender: str
    sender_name: str | None
    subject: str
    #: the Message-ID as written (with angle brackets), None when the mail has none
    message_id: str | None
    #: the Message-ID, or a hash of the headers and body when it is missing or too long
    external_id: str
    #: Message-IDs this mail answers (In-Reply-To, then References)
    references: tuple[str, ...]
    #: the new text of the body, quoted replies cut; "" when there is none
    body: str
    files: tuple[MailFile, ...]
    #: why a machine wrote this mail (the header that says so), None for a person
    automated: str | None
    #: the From address in lower case (``sender`` too, unless Reply-To names another)
    author: str

    @property
    def addresses(self) -> frozenset[str]:
        """The citizen's addresses in this mail (Reply-To and From)."""
        return frozenset({self.sender, self.author})


def parse_mail(raw: bytes, *, own_address: str) -> ParsedMail:
    """Read a whole mail (or only its header block, for one too large to download)."""
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
        if not isinstance(message, EmailMessage):  # policy.default always builds EmailMessage
            raise TypeError("not an EmailMessage")
        return _read(message, raw, own_address.lower())
    except MalformedMail:
        raise
    except Exception as e:  # the parser and its header classes raise many kinds of errors
        raise MalformedMail(f"unreadable mail: {e!r}", reason="邮件格式无法识别") from e


def _read(message: EmailMessage, raw: bytes, own: str) -> ParsedMail:
    headers = _headers(message)
    author, name = _sender(headers.get("from", ""))
    automated = _automated(message, headers, author, own)
    reply_to = None if automated else _reply_to(headers.get("reply-to", ""), own)
    sender = author
    if reply_to is not None:
        sender, name = reply_to[0], reply_to[1] or name
    message_id = _first_id(headers.get("message-id", ""))
    body, files = _content(message)
    return ParsedMail(
        sender=sender,
        author=author,
        sender_name=name,
        subject=headers.get("subject", "").strip(),
        message_id=message_id,
        external_id=_external_id(message_id, headers, raw),
        references=tuple(
            dict.fromkeys(
                _MSG_ID.findall(headers.get("in-reply-to", ""))
                + _MSG_ID.findall(headers.get("references", ""))
            )
        ),
        body=body,
        files=files,
        automated=automated,
    )


def _headers(message: EmailMessage) -> dict[str, str]:
    """The first value of each header, decoded (names in lower case)."""
    found: dict[str, str] = {}
    for name, value in message.raw_items():
        found.setdefault(name.lower(), decode_header_value(str(value)))
    return found


def _sender(value: str) -> tuple[str, str | None]:
    pairs = getaddresses([value])
    name, address = pairs[0] if pairs else ("", "")
    address = address.strip().lower()
    if not _ADDRESS.match(address) or len(address) > MAX_ADDRESS_CHARS:
        raise MalformedMail("no usable From address", reason="邮件没有可识别的发件人地址")
    return address, (name.strip() or None)


def _reply_to(value: str, own: str) -> tuple[str, str | None] | None:
    """The first Reply-To address and its name, unless it is unusable or a robot's (a
    bounce or no-reply address, an auto-responder, a list, our own): then From is answered."""
    pairs = getaddresses([value]) if value else []
    if not pairs:
        return None
    name, address = pairs[0]
    address = address.strip().lower()
    if not _ADDRESS.match(address) or len(address) > MAX_ADDRESS_CHARS or address == own:
        return None
    local = address.rsplit("@", 1)[0]
    if local in MACHINE_SENDERS or _ROBOT_LOCAL.match(local):
        return None
    return address, (name.strip() or None)


def _first_id(value: str) -> str | None:
    found = _MSG_ID.findall(value)
    return found[0] if found else None


def _external_id(message_id: str | None, headers: dict[str, str], raw: bytes) -> str:
    if message_id and len(message_id) <= EXTERNAL_ID_CHARS:
        return message_id
    # The same mail delivered twice keeps these headers and its body (not its Received lines).
    digest = hashlib.sha256()
    for name in ("from", "to", "date", "subject", "message-id"):
        digest.update(headers.get(name, "").encode("utf-8", "surrogateescape") + b"\0")
    _, _, body = raw.partition(b"\r\n\r\n") if b"\r\n\r\n" in raw else raw.partition(b"\n\n")
    digest.update(body)
    return "sha256:" + digest.hexdigest()


def _automated(message: EmailMessage, headers: dict[str, str], sender: str, own: str) -> str | None:
    local = sender.split("@", 1)[0]
    if sender == own:
        return "our own address"
    if local in MACHINE_SENDERS:
        return f"sender {local}"
    if headers.get("auto-submitted", "no").strip().lower() != "no":
        return "Auto-Submitted"
    if headers.get("precedence", "").strip().lower() in {"bulk", "list", "junk", "auto_reply"}:
        return "Precedence"
    for name in _AUTOMATIC_HEADERS:
        if name in headers:
            return name
    if headers.get("return-path", "").replace(" ", "") == "<>":
        return "empty Return-Path"
    if message.get_content_type() == "multipart/report":
        return "delivery report"
    return None


def _content(message: EmailMessage) -> tuple[str, tuple[MailFile, ...]]:
    part = message.get_body(preferencelist=("plain", "html"))
    body = ""
    if isinstance(part, EmailMessage):
        data = part.get_payload(decode=True)
        text = decode_bytes(data if isinstance(data, bytes) else b"", part.get_content_charset())
        if part.get_content_subtype() == "html":
            text = html_to_text(text)
        body = strip_quoted(text.replace("\r\n", "\n"))
    files = []
    for index, attachment in enumerate(message.iter_attachments(), start=1):
        if not isinstance(attachment, EmailMessage):
            continue
        # A forwarded mail (message/rfc822) has parts, not bytes; its type is refused anyway.
        data = None if attachment.is_multipart() else attachment.get_payload(decode=True)
        filename = attachment.get_filename() or f"附件{index}"
        content_type = attachment.get_content_type()
        files.append(MailFile(filename, content_type, data if isinstance(data, bytes) else b""))
    return body, tuple(files)
