"""Sending a dispatch to a unit's system: a signed webhook or an e-mail.

Webhook requests are ``POST`` with the JSON payload as the body and these headers:

* ``X-Hotline-Signature: sha256=<hex>`` — HMAC-SHA256 of the exact body bytes with the unit's
  secret (compare it in constant time before trusting the body);
* ``X-Hotline-Delivery: <dispatch id>`` — the same on every retry of one dispatch, so the
  receiver can drop a repeat it has already processed (delivery is at least once: a worker killed
  after the receiver answered but before the success was stored sends again);
* ``X-Hotline-Event: ticket.dispatched`` (or ``ticket.warning``, ``ticket.escalated``).

Any 2xx answer is success; anything else (a redirect is not followed), a timeout or a refused
connection is a failure that the worker retries with backoff.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Protocol

import aiohttp
import aiosmtplib

from hotline.storage.models import Dispatch, Unit
from hotline.tls import Security, client_context, untrusted

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hotline-Signature"
DELIVERY_HEADER = "X-Hotline-Delivery"
EVENT_HEADER = "X-Hotline-Event"
#: how much of a refusing answer is kept in ``last_error``
ERROR_EXCERPT_BYTES = 200

KIND_SUBJECTS = {
    "ticket.dispatched": "【12345派单】",
    "ticket.warning": "【12345临期预警】",
    "ticket.escalated": "【12345超期督办】",
}


class DeliveryFailed(Exception):
    """The unit's system did not take the dispatch; the message says what happened."""


class Sender(Protocol):
    async def send(self, dispatch: Dispatch, unit: Unit) -> None:
        """Deliver or raise :class:`DeliveryFailed`."""
        ...

    async def close(self) -> None: ...


def body_of(payload: dict[str, Any], delivery_id: int) -> bytes:
    """The exact bytes that are signed and sent."""
    document = {"delivery_id": delivery_id, **payload}
    return json.dumps(document, ensure_ascii=False, sort_keys=True).encode()


def sign(secret: str, body: bytes) -> str:
    """The signature header's value for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """What a receiver does: constant-time comparison of the signature header."""
    return header is not None and hmac.compare_digest(sign(secret, body), header)


class WebhookSender:
    """One shared HTTP client session; each request has its own timeout."""

    def __init__(self, *, timeout_seconds: float) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None

    async def send(self, dispatch: Dispatch, unit: Unit) -> None:
        if not unit.webhook_url or not unit.webhook_secret:
            raise DeliveryFailed(f"unit {unit.code} has no webhook url or secret configured")
        if dispatch.id is None:
            raise RuntimeError("dispatch without id")
        body = body_of(dispatch.payload, dispatch.id)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            SIGNATURE_HEADER: sign(unit.webhook_secret, body),
            DELIVERY_HEADER: str(dispatch.id),
            EVENT_HEADER: str(dispatch.kind),
            "User-Agent": "hotline-dispatch/1",
        }
        session = self._client()
        try:
            # A redirect is not a delivery: aiohttp would follow a 302 with a GET (dropping the
            # body) and call the landing page's 200 a success.
            async with session.post(
                unit.webhook_url, data=body, headers=headers, allow_redirects=False
            ) as response:
                if 200 <= response.status < 300:
                    return
                # Only the start of the answer: an error page may be huge or never end.
                head = await response.content.read(ERROR_EXCERPT_BYTES)
                text = head.decode("utf-8", errors="replace")
                raise DeliveryFailed(f"HTTP {response.status} from {unit.webhook_url}: {text}")
        except (aiohttp.ClientError, TimeoutError) as e:
            raise DeliveryFailed(f"{type(e).__name__} posting to {unit.webhook_url}: {e}") from e

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


class CertificateUntrusted(ConnectionError):
    """The SMTP server's TLS certificate did not verify: the setting must change, not the
    weather, so it is logged as an error; the mail stays owed and is retried."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "127.0.0.1"
    port: int = 25
    sender: str = "12345@hotline.invalid"
    username: str = ""
    password: str = ""
    security: Security = "plain"
    ca_file: str = ""
    timeout_seconds: float = 10.0
    #: where these settings come from, named in errors (``dispatch.smtp``)
    config_key: str = "smtp"


def email_of(dispatch: Dispatch, unit: Unit, sender: str) -> EmailMessage:
    """A plain-text message a unit's clerk can act on, with the JSON payload attached."""
    ticket = dispatch.payload.get("ticket", {})
    message = EmailMessage()
    message["From"] = sender
    message["To"] = unit.email or ""
    subject = KIND_SUBJECTS.get(str(dispatch.kind), "【12345】")
    # A letter's title may hold line breaks, which a header must not.
    title = " ".join(str(ticket.get("title", "")).splitlines())
    message["Subject"] = f"{subject}{ticket.get('number')} {title}"
    message["X-Hotline-Delivery"] = str(dispatch.id)
    lines = [
        f"{unit.name}：",
        "",
        f"工单编号：{ticket.get('number')}",
        f"事由：{dispatch.payload.get('reason') or ''}",
        f"诉求类型：{ticket.get('request_type')}　紧急程度：{ticket.get('urgency')}",
        f"分类：{ticket.get('category') or ''} / {ticket.get('subcategory') or ''}",
        f"地址：{ticket.get('address') or '（未提供）'}",
        f"办理时限：{ticket.get('due_at') or '（未设定）'}",
        f"联系人：{ticket.get('contact_name') or ''} {ticket.get('contact_phone') or ''}",
        "",
        "诉求内容：",
        str(ticket.get("description", "")),
        "",
        "请登录热线工单系统签收并按时办结。",
    ]
    message.set_content("\n".join(lines))
    body = json.dumps(dispatch.payload, ensure_ascii=False, indent=2).encode()
    message.add_attachment(
        body, maintype="application", subtype="json", filename=f"{ticket.get('number')}.json"
    )
    return message


async def send_mail(settings: SmtpSettings, message: EmailMessage, *, to: str) -> None:
    """One message through the configured SMTP server (one connection per message), from
    ``settings.sender``; raises aiosmtplib's errors, ``OSError`` or ``TimeoutError``
    (:class:`CertificateUntrusted` when the server's certificate did not verify)."""
    s = settings
    try:
        await aiosmtplib.send(
            message,
            sender=s.sender,
            recipients=[to],
            hostname=s.host,
            port=s.port,
            username=s.username or None,
            password=s.password or None,
            use_tls=s.security == "tls",
            # False, not None: None would upgrade only if the server offers it
            start_tls=s.security == "starttls",
            tls_context=None if s.security == "plain" else client_context(s.ca_file),
            timeout=s.timeout_seconds,
        )
    except (aiosmtplib.SMTPException, OSError) as e:
        reason = untrusted(e)
        if reason is None:
            raise
        text = (
            f"the TLS certificate of SMTP server {s.host}:{s.port} is not trusted ({reason}); "
            f"give the CA that signed it as {s.config_key}.ca_file"
        )
        log.error("smtp.certificate_untrusted %s", text)
        raise CertificateUntrusted(text) from e


class EmailSender:
    """Sends through the configured SMTP server; one connection per message."""

    def __init__(self, settings: SmtpSettings) -> None:
        self._settings = settings

    async def send(self, dispatch: Dispatch, unit: Unit) -> None:
        if not unit.email:
            raise DeliveryFailed(f"unit {unit.code} has no e-mail address configured")
        s = self._settings
        try:
            await send_mail(s, email_of(dispatch, unit, s.sender), to=unit.email)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as e:
            raise DeliveryFailed(f"{type(e).__name__} sending to {unit.email}: {e}") from e

    async def close(self) -> None:
        return None
