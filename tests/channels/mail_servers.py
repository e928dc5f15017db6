"""Real mail servers for the e-mail channel's tests: pymap (IMAP4rev1) and aiosmtpd (SMTP).

pymap runs as a subprocess with its in-memory ``dict`` backend and one user; mails are delivered
with the standard library's IMAP client (APPEND), as another mail server would. Each test works
in folders of its own, so one server serves the whole session.
"""

from __future__ import annotations

import imaplib
import socket
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from ipaddress import ip_address
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

USER, PASSWORD = "hotline", "imap-s3cret"
OUR_ADDRESS = "12345@city.example.cn"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ImapServer:
    """``pymap dict`` on 127.0.0.1; ``start()`` waits until it accepts a login."""

    def __init__(self, port: int | None = None, *, tls: tuple[Path, Path] | None = None) -> None:
        self.port = port or free_port()
        #: certificate and key files: the server offers STARTTLS
        self.tls = tls
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> ImapServer:
        code = "import sys; from pymap.main import main; sys.exit(main())"
        tls = ["--cert", str(self.tls[0]), "--key", str(self.tls[1])] if self.tls else ["--no-tls"]
        self._process = subprocess.Popen(
            [sys.executable, "-c", code, "--host", "127.0.0.1", "--port", str(self.port), *tls,
             "dict", "--demo-user", USER, "--demo-password", PASSWORD],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with self.client():
                    return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("pymap did not start")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None

    @contextmanager
    def client(self) -> Iterator[imaplib.IMAP4]:
        conn = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        try:
            if self.tls:
                conn.starttls(ssl.create_default_context(cafile=str(self.tls[0])))
            conn.login(USER, PASSWORD)
            yield conn
        finally:
            conn.logout()


@dataclass
class Folders:
    """A test's own folders on the shared server (names as configured and as IMAP sees them)."""

    server: ImapServer
    prefix: str = field(default_factory=lambda: f"T{uuid.uuid4().hex[:10]}")

    def config(self, *, move: bool = True) -> dict[str, str]:
        if not move:
            return {"inbox": self.inbox}
        return {
            "inbox": self.inbox,
            "processed": f"{self.prefix}-done",
            "ignored": f"{self.prefix}-ignored",
            "rejected": f"{self.prefix}-rejected",
        }

    @property
    def inbox(self) -> str:
        return f"{self.prefix}-in"

    def deliver(self, mail: EmailMessage | bytes) -> None:
        raw = mail if isinstance(mail, bytes) else mail.as_bytes(policy=policy.SMTP)
        with self.server.client() as conn:
            conn.create(self.inbox)
            typ, data = conn.append(self.inbox, None, None, raw)
            assert typ == "OK", data

    def flags(self, folder: str = "") -> list[str]:
        """The flags of every mail in ``folder`` (default: the inbox), oldest first."""
        with self.server.client() as conn:
            typ, _ = conn.select(f'"{folder or self.inbox}"', readonly=True)
            if typ != "OK":
                return []
            _, data = conn.fetch("1:*", "(FLAGS)")
        return [line.decode() for line in data if isinstance(line, bytes)]

    def count(self, folder: str = "", criteria: str = "ALL") -> int:
        with self.server.client() as conn:
            typ, _ = conn.select(f'"{folder or self.inbox}"', readonly=True)
            if typ != "OK":
                return 0
            _, data = conn.search(None, criteria)
        return len(data[0].split())


class SmtpInbox:
    """An aiosmtpd handler keeping each mail's envelope and its parsed message."""

    def __init__(self) -> None:
        self.mails: list[tuple[str, list[str], EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = BytesParser(policy=policy.default).parsebytes(envelope.content)
        assert isinstance(message, EmailMessage)
        self.mails.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"

    @property
    def messages(self) -> list[EmailMessage]:
        return [message for _, _, message in self.mails]


@contextmanager
def smtp_server(
    port: int, *, tls: tuple[Path, Path] | None = None, starttls: bool = False
) -> Iterator[SmtpInbox]:
    """aiosmtpd on ``port``; with ``tls`` (certificate, key) it speaks TLS from the first byte
    (SMTPS), or with ``starttls`` offers the upgrade and refuses mail before it."""
    inbox = SmtpInbox()
    context = None
    if tls is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*tls)
    if starttls:
        controller = Controller(
            inbox, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True
        )
    else:
        controller = Controller(inbox, hostname="127.0.0.1", port=port, ssl_context=context)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


def self_signed(directory: Path, stem: str = "imap") -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that only a client given it as its CA trusts."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_file, key_file = directory / f"{stem}.crt", directory / f"{stem}.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def text_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert isinstance(body, EmailMessage)
    return str(body.get_content())


def citizen_mail(
    text: str,
    *,
    subject: str = "小区路灯坏了",
    sender: str = "张三 <zhangsan@example.com>",
    message_id: str | None = None,
    **headers: str,
) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = OUR_ADDRESS
    mail["Subject"] = subject
    mail["Message-ID"] = message_id or f"<{uuid.uuid4().hex}@example.com>"
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content(text)
    return mail
