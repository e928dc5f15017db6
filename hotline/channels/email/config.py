"""The ``channels.email`` configuration section: the citizens' mailbox (12345 信箱)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hotline.tls import Security, check_transport

_ADDRESS = r"^[^@\s<>]+@[^@\s<>]+$"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ImapConfig(_Section):
    """The mailbox the hotline reads (IMAP4rev1)."""

    host: str = ""
    #: 993 for ``tls``, 143 for ``starttls`` and ``plain``
    port: int = Field(993, ge=1, le=65535)
    #: ``tls`` (IMAPS), ``starttls`` (upgrade on 143) or ``plain`` (tests and local relays only)
    security: Security = "tls"
    username: str = ""
    password: str = ""
    timeout_seconds: float = Field(30.0, gt=0, le=600)
    #: CA certificates (PEM) to trust for the server, e.g. a city's internal CA; empty: the
    #: system's. The certificate and host name are always checked.
    ca_file: str = ""


class FoldersConfig(_Section):
    """Where mails are read from and where they go once handled.

    An empty folder name means "leave the mail where it is": a handled mail is flagged
    ``\\Seen`` (a rejected one also ``\\Flagged``). Folders that do not exist are created.
    """

    #: the folder polled for unseen mails
    inbox: str = Field("INBOX", min_length=1)
    #: mails that became a ticket or were added to one
    processed: str = ""
    #: auto-replies, bounces, mailing lists and our own mails: never answered
    ignored: str = ""
    #: oversized, malformed or empty mails; the sender is told why
    rejected: str = ""


def no_starttls_key(data: Any) -> Any:
    """The ``starttls: true|false`` of earlier versions, refused with what replaces it."""
    if isinstance(data, dict) and "starttls" in data:
        raise ValueError(
            "the key starttls was replaced by security: write security: starttls for "
            "starttls: true, security: plain for false, or security: tls for implicit TLS (465)"
        )
    return data


class SmtpLogin(_Section):
    """What sending through an SMTP server needs besides where it is: the login, how the
    connection is protected and how long to wait (``dispatch.smtp`` and this channel's)."""

    username: str = ""
    password: str = ""
    #: CA certificates (PEM) to trust for the server; empty: the system's
    ca_file: str = ""
    timeout_seconds: float = Field(10.0, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _renamed(cls, data: Any) -> Any:
        return no_starttls_key(data)


class EmailSmtpConfig(SmtpLogin):
    """The server our replies are sent through; an empty host means ``dispatch.smtp``'s."""

    host: str = ""
    #: 587 for ``starttls``, 465 for ``tls``
    port: int = Field(587, ge=1, le=65535)
    #: ``starttls`` (upgrade on 587), ``tls`` (implicit TLS, 465) or ``plain`` (local relays)
    security: Security = "starttls"


class EmailConfig(_Section):
    """A mailbox polled over IMAP whose mails become tickets; replies go out by SMTP."""

    enabled: bool = False
    #: the mailbox's own address: the From of our replies; mails from it are never answered
    address: str = Field("12345@hotline.invalid", pattern=_ADDRESS)
    #: the name shown beside ``address`` in our replies
    display_name: str = "12345政务服务便民热线"
    imap: ImapConfig = ImapConfig()
    folders: FoldersConfig = FoldersConfig()
    smtp: EmailSmtpConfig = EmailSmtpConfig()
    #: seconds between two looks at the mailbox
    poll_seconds: float = Field(30.0, gt=0)
    #: mails taken per look; the rest wait for the next one
    batch_size: int = Field(20, ge=1, le=500)
    #: larger mails are not downloaded: they are rejected and the sender told the limit
    max_message_bytes: int = Field(26_214_400, ge=10_240)
    #: a mail whose intake fails this many times (a bug, not an outage) is rejected
    max_failures: int = Field(3, ge=1, le=100)
    #: when the mailbox cannot be reached, wait this long, doubling up to ``backoff_max_seconds``
    backoff_base_seconds: float = Field(5.0, gt=0)
    backoff_max_seconds: float = Field(600.0, gt=0)

    @model_validator(mode="after")
    def _transport(self) -> EmailConfig:
        if not self.enabled:
            return self
        imap, smtp = self.imap, self.smtp
        check_transport("channels.email.imap", imap.security, imap.port, imap.ca_file)
        if smtp.host:  # an empty host borrows dispatch.smtp's server, checked there
            check_transport("channels.email.smtp", smtp.security, smtp.port, smtp.ca_file)
        return self

    @model_validator(mode="after")
    def _secrets(self) -> EmailConfig:
        if not self.enabled:
            return self
        imap = self.imap
        for key, value in (("host", imap.host), ("username", imap.username)):
            if not value:
                raise ValueError(
                    f"channels.email.imap.{key}: the e-mail channel is enabled without the "
                    f"mailbox's IMAP {key}; set it or disable the channel"
                )
        if not imap.password:
            raise ValueError(
                "channels.email.imap.password: the e-mail channel is enabled without the "
                "mailbox password; set it from the environment (${HOTLINE_EMAIL_PASSWORD}) "
                "or disable the channel"
            )
        if self.smtp.host and self.smtp.username and not self.smtp.password:
            raise ValueError(
                "channels.email.smtp.password: an SMTP username without its password; set it "
                "from the environment (${HOTLINE_EMAIL_SMTP_PASSWORD})"
            )
        return self
