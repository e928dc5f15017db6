"""TLS towards the mail servers we log in to (the mailbox's IMAP, the SMTP servers).

``security`` names how a connection is protected: ``tls`` speaks TLS from the first byte
(IMAPS on 993, SMTPS on 465), ``starttls`` connects in the clear and upgrades before logging in
(143, 587, 25) and refuses a server that does not offer the upgrade, ``plain`` never encrypts
(a relay on the same host, test servers). With TLS the certificate and the host name are always
checked, against the system's CAs or the PEM file ``ca_file`` names (a city's internal CA); no
setting turns the check off.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Literal

Security = Literal["tls", "starttls", "plain"]
#: ports that speak TLS from the first byte, and ports that start in the clear
IMPLICIT_PORTS = frozenset({465, 993})
CLEAR_PORTS = frozenset({25, 143, 587})


def client_context(ca_file: str) -> ssl.SSLContext:
    """A context that checks the server's certificate and name (``ca_file``'s CAs, if given)."""
    return ssl.create_default_context(cafile=ca_file or None)


def untrusted(error: BaseException) -> str | None:
    """Why the server's certificate was refused, when that is what ``error`` comes from."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLCertVerificationError):
            return str(current)
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def check_transport(key: str, security: Security, port: int, ca_file: str) -> None:
    """Refuse a mode the well-known port does not speak and a CA file that cannot be read.

    Raises ``ValueError`` naming ``key`` (the section, ``dispatch.smtp``) and the fix: TLS
    on 587 would otherwise fail with a handshake timeout that names neither.
    """
    if security == "tls" and port in CLEAR_PORTS:
        raise ValueError(
            f"{key}.security: tls (TLS from the first byte) on port {port}, which starts in the "
            "clear; use security: starttls there, or the implicit TLS port (465 SMTP, 993 IMAP)"
        )
    if security != "tls" and port in IMPLICIT_PORTS:
        raise ValueError(
            f"{key}.security: {security} on port {port}, which speaks TLS from the first byte; "
            "use security: tls there, or the port that starts in the clear (587 SMTP, 143 IMAP)"
        )
    if ca_file and security == "plain":
        raise ValueError(
            f"{key}.ca_file: set while security is plain, so no certificate would be checked; "
            "use security: tls or starttls, or remove ca_file"
        )
    if ca_file and not Path(ca_file).is_file():
        raise ValueError(f"{key}.ca_file: {ca_file} is not a file; give the PEM file of the CAs")
