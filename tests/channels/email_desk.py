"""The e-mail channel assembled as ``hotline`` assembles it, against the test mail servers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from hotline.channels.email.poller import EmailPoller, PollReport
from hotline.channels.push import PushWorker
from hotline.services import Services
from hotline.storage.models import CitizenPush, Message, Ticket
from hotline.workers import build_mail_poller, build_pusher
from tests.channels.channel_services import channel_services
from tests.channels.mail_servers import OUR_ADDRESS, PASSWORD, USER, Folders, SmtpInbox


def email_section(
    imap_port: int,
    smtp_port: int,
    folders: dict[str, str],
    *,
    imap_options: dict[str, Any] | None = None,
    smtp_options: dict[str, Any] | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """The ``channels.email`` section for the test servers; ``*_options`` change single keys."""
    return {
        "enabled": True,
        "address": OUR_ADDRESS,
        "imap": {
            "host": "127.0.0.1",
            "port": imap_port,
            "security": "plain",
            "username": USER,
            "password": PASSWORD,
            "timeout_seconds": 10,
            **(imap_options or {}),
        },
        "folders": folders,
        "smtp": {"host": "127.0.0.1", "port": smtp_port, "security": "plain"}
        | (smtp_options or {}),
        "poll_seconds": 0.1,
        "backoff_base_seconds": 0.05,
        "backoff_max_seconds": 0.2,
        **overrides,
    }


@dataclass
class MailDesk:
    """Services with the e-mail channel, its poller and the push worker that sends replies."""

    services: Services
    poller: EmailPoller
    pusher: PushWorker
    folders: Folders
    smtp: SmtpInbox

    async def poll(self) -> PollReport:
        return await self.poller.poll_once()

    async def send(self) -> int:
        """Push what the outbox owes; how many mails went out."""
        return (await self.pusher.run_once()).sent

    async def count(self, model: Any = Ticket) -> int:
        async with self.services.database.read() as session:
            statement = select(func.count()).select_from(model)
            return int((await session.execute(statement)).scalar_one())

    async def nothing_written(self) -> bool:
        return [await self.count(m) for m in (Ticket, Message, CitizenPush)] == [0, 0, 0]

    async def tickets(self) -> list[Ticket]:
        async with self.services.database.read() as session:
            return list((await session.execute(select(Ticket).order_by(Ticket.id))).scalars())


@asynccontextmanager
async def mail_desk(
    tmp_path: Path,
    database_url: str,
    analyzer: Any,
    encoder: Any,
    *,
    folders: Folders,
    smtp: tuple[SmtpInbox, int],
    move: bool = True,
    **overrides: Any,
) -> AsyncIterator[MailDesk]:
    inbox, smtp_port = smtp
    email = email_section(folders.server.port, smtp_port, folders.config(move=move), **overrides)
    async with channel_services(tmp_path, database_url, analyzer, encoder, email=email) as built:
        poller = build_mail_poller(built.config, built.pipeline, built.database, built.callbacks)
        pusher = build_pusher(built.config, built.database)
        assert poller is not None
        assert pusher is not None
        try:
            yield MailDesk(built, poller, pusher, folders, inbox)
        finally:
            await poller.stop()
            await pusher.stop()
