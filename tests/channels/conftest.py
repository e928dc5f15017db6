"""Fixtures of the e-mail channel's tests: one IMAP server per session, an SMTP server per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.channels.email_desk import MailDesk, mail_desk
from tests.channels.mail_servers import Folders, ImapServer, SmtpInbox, smtp_server


@pytest.fixture(scope="session")
def imap_server() -> Iterator[ImapServer]:
    server = ImapServer().start()
    yield server
    server.stop()


@pytest.fixture
def folders(imap_server: ImapServer) -> Folders:
    return Folders(imap_server)


@pytest.fixture
def smtp(unused_tcp_port: int) -> Iterator[tuple[SmtpInbox, int]]:
    with smtp_server(unused_tcp_port) as inbox:
        yield inbox, unused_tcp_port


@pytest.fixture
async def desk(
    tmp_path: Path,
    database_url: str,
    analyzer: Any,
    encoder: Any,
    folders: Folders,
    smtp: tuple[SmtpInbox, int],
) -> AsyncIterator[MailDesk]:
    async with mail_desk(
        tmp_path, database_url, analyzer, encoder, folders=folders, smtp=smtp
    ) as built:
        yield built
