"""Satisfaction callbacks (回访) by e-mail for a citizen who gave only an e-mail address on
another channel (an Open311 form): the question opens a mail thread, sent through a real SMTP
server, and the citizen's answer comes back through the real mailbox and closes the ticket."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from hotline.callbacks import plan, wording
from hotline.callbacks.links import local_time
from hotline.callbacks.setup import build_callback_worker
from hotline.intake import ticket_actions as actions
from hotline.services import Services, build_services
from hotline.storage.models import (
    CallbackStatus,
    ContactKind,
    ContactPoint,
    Message,
    Rating,
    SatisfactionCallback,
    Ticket,
    TicketStatus,
)
from hotline.web.app import create_app
from hotline.workers import build_mail_poller, build_pusher
from tests.callbacks.rating_desk import LINK, LINK_BASE, link_path, rate
from tests.channels.email_desk import MailDesk, email_section
from tests.channels.mail_servers import Folders, SmtpInbox, citizen_mail, text_of
from tests.channels.test_open311_support import new_key, open311_app
from tests.conftest import API_KEY, make_config
from tests.web.conftest import ClientFactory

Client = TestClient[Any, Any]
#: an Open311 request whose citizen gave an e-mail address and no phone
FORM = {
    "service_code": "0301",
    "lat": "30.2741",
    "long": "120.1551",
    "address_string": "江北区解放路 88 号",
    "description": "解放路 88 号门口的路灯不亮了，晚上很黑。",
    "first_name": "小明",
    "last_name": "王",
    "email": "Wang@Example.com",
}
CITIZEN = "wang@example.com"
ANY_TIME = {"delay_minutes": 0, "first_hour": 0, "last_hour": 24}


def config_for(
    tmp_path: Path,
    database_url: str,
    email: dict[str, Any] | None,
    link: dict[str, str] | None = None,
) -> Any:
    channels: dict[str, Any] = {"app": {"api_key": API_KEY}}
    if email is not None:
        channels["email"] = email
    return make_config(
        tmp_path, database_url, channels=channels, knowledge={"enabled": False},
        callbacks=ANY_TIME | ({"link": link} if link else {}),
    )  # fmt: skip


@asynccontextmanager
async def built(config: Any, analyzer: Any, encoder: Any) -> AsyncIterator[Services]:
    services = build_services(config, analyzer=analyzer, encoder=encoder)
    try:
        yield services
    finally:
        await services.database.dispose()


async def resolved_open311_ticket(services: Services, aiohttp_client: ClientFactory) -> Ticket:
    """A request posted through Open311 with an e-mail address only, then resolved (办结)."""
    client: Client = await aiohttp_client(open311_app(services))
    key = await new_key(services)
    response = await client.post("/open311/v2/requests.json", data={**FORM, "api_key": key})
    assert response.status == 200, await response.text()
    [row] = await response.json()
    async with services.database.session() as session:
        found = await session.execute(
            select(Ticket).where(Ticket.number == row["service_request_id"])
        )
        ticket = found.scalar_one()
        assert (ticket.channel, ticket.contact_phone) == ("open311", None)
        assert ticket.contact_email == CITIZEN  # the form's address, kept with the request
        ticket.status = TicketStatus.ACCEPTED  # as if a unit had accepted it (签收)
        await actions.resolve(session, ticket, actor="unit:sz", reply="路灯已修复")
        assert services.callbacks is not None
        await services.callbacks.schedule(session, ticket)
    return ticket


@asynccontextmanager
async def open311_desk(
    tmp_path: Path,
    database_url: str,
    analyzer: Any,
    encoder: Any,
    folders: Folders,
    smtp: tuple[SmtpInbox, int],
    link: dict[str, str] | None = None,
) -> AsyncIterator[MailDesk]:
    email = email_section(folders.server.port, smtp[1], folders.config())
    config = config_for(tmp_path, database_url, email, link)
    async with built(config, analyzer, encoder) as services:
        poller = build_mail_poller(
            services.config, services.pipeline, services.database, services.callbacks
        )
        pusher = build_pusher(services.config, services.database)
        assert poller is not None
        assert pusher is not None
        try:
            yield MailDesk(services, poller, pusher, folders, smtp[0])
        finally:
            await poller.stop()
            await pusher.stop()


async def ask(desk: MailDesk, ticket: Ticket) -> Any:
    """Run the callback worker once; the question mail the citizen receives."""
    services = desk.services
    assert services.callbacks is not None
    async with services.database.read() as session:
        [callback] = (await session.execute(select(SatisfactionCallback))).scalars()
    assert callback.routes == [{"method": "message", "channel": "email", "address": CITIZEN}]
    assert callback.status == CallbackStatus.SCHEDULED
    asker = build_callback_worker(
        services.config, services.callbacks, services.pipeline.outgoing, name="t"
    )
    assert (await asker.run_once()).asked == 1
    assert await desk.send() == 1
    [(_, rcpt_tos, question)] = desk.smtp.mails
    assert rcpt_tos == [CITIZEN]
    assert question["Subject"] == f"{ticket.title} [工单 {ticket.number}]"  # a new thread
    assert question["In-Reply-To"] is None
    assert wording.question(ticket.number) in text_of(question)
    return question


async def closed(desk: MailDesk, ticket: Ticket) -> tuple[SatisfactionCallback, Ticket]:
    async with desk.services.database.read() as session:
        callback = (await session.execute(select(SatisfactionCallback))).scalar_one()
        stored = await session.get(Ticket, ticket.id)
    assert stored is not None
    return callback, stored


async def test_an_open311_citizen_is_asked_by_mail_and_the_answer_closes_the_ticket(
    tmp_path: Path,
    database_url: str,
    analyzer: Any,
    encoder: Any,
    folders: Folders,
    smtp: tuple[SmtpInbox, int],
    aiohttp_client: ClientFactory,
) -> None:
    async with open311_desk(tmp_path, database_url, analyzer, encoder, folders, smtp) as desk:
        ticket = await resolved_open311_ticket(desk.services, aiohttp_client)
        question = await ask(desk, ticket)
        assert "/r/" not in text_of(question)  # no rating link unless callbacks.link is set
        answer = citizen_mail(
            "满意\n\n------------------ 原始邮件 ------------------\n" + text_of(question),
            sender=f"王小明 <{CITIZEN}>", subject=f"回复：{question['Subject']}",
            In_Reply_To=question["Message-ID"],
        )  # fmt: skip
        folders.deliver(answer)
        report = await desk.poll()
        assert (report.rated, report.supplemented, report.created) == (1, 0, 0)
        assert await desk.send() == 1  # the thanks, in the same thread
        callback, rated = await closed(desk, ticket)
    assert (callback.rating, callback.answered_via) == (Rating.SATISFIED, "message:email")
    assert rated.status == TicketStatus.CLOSED
    thanks = desk.smtp.messages[-1]
    assert thanks["In-Reply-To"] == answer["Message-ID"]
    assert f"[工单 {ticket.number}]" in thanks["Subject"]


async def test_the_question_mail_carries_the_rating_link_when_configured(
    tmp_path: Path,
    database_url: str,
    analyzer: Any,
    encoder: Any,
    folders: Folders,
    smtp: tuple[SmtpInbox, int],
    aiohttp_client: ClientFactory,
) -> None:
    async with open311_desk(
        tmp_path, database_url, analyzer, encoder, folders, smtp, link=LINK
    ) as desk:
        ticket = await resolved_open311_ticket(desk.services, aiohttp_client)
        text = text_of(await ask(desk, ticket))
        path = link_path(text)
        async with desk.services.database.read() as session:
            asked = (await session.execute(select(SatisfactionCallback))).scalar_one()
        assert asked.expires_at is not None
        until = local_time(asked.expires_at, "Asia/Shanghai")
        assert wording.mail_question(ticket.number, LINK_BASE + path, until=until) in text
        async with desk.services.database.read() as session:  # signed only as it was sent
            stored = await session.execute(
                select(Message.text).where(Message.author == wording.QUESTION_AUTHOR)
            )
        hidden = wording.mail_question(ticket.number, LINK_BASE + "/r/…", until=until)
        assert stored.scalar_one() == hidden
        client: Client = await aiohttp_client(create_app(desk.services))
        page = await client.get(path)
        assert page.status == 200
        assert f"工单 <strong>{ticket.number}</strong>" in await page.text()
        assert (await rate(client, path, rating="satisfied")).status == 200
        callback, rated = await closed(desk, ticket)
    assert (callback.rating, callback.answered_via) == (Rating.SATISFIED, "link")
    assert rated.status == TicketStatus.CLOSED


async def test_an_answer_that_kept_only_the_subject_tag_is_read_too(
    tmp_path: Path,
    database_url: str,
    analyzer: Any,
    encoder: Any,
    folders: Folders,
    smtp: tuple[SmtpInbox, int],
    aiohttp_client: ClientFactory,
) -> None:
    async with open311_desk(tmp_path, database_url, analyzer, encoder, folders, smtp) as desk:
        ticket = await resolved_open311_ticket(desk.services, aiohttp_client)
        question = await ask(desk, ticket)
        folders.deliver(citizen_mail("1", sender=CITIZEN, subject=f"Re: {question['Subject']}"))
        folders.deliver(
            citizen_mail("满意", sender="other@example.org", subject=question["Subject"])
        )
        report = await desk.poll()
        assert (report.rated, report.created) == (1, 1)  # a stranger's tag reads nothing
        callback, rated = await closed(desk, ticket)
    assert callback.rating == Rating.SATISFIED
    assert rated.status == TicketStatus.CLOSED


async def test_without_the_mail_channel_the_address_is_kept_but_no_route_is_planned(
    tmp_path: Path,
    database_url: str,
    analyzer: Any,
    encoder: Any,
    aiohttp_client: ClientFactory,
) -> None:
    config = config_for(tmp_path, database_url, None)
    async with built(config, analyzer, encoder) as services:
        ticket = await resolved_open311_ticket(services, aiohttp_client)
        async with services.database.read() as session:
            callback = (await session.execute(select(SatisfactionCallback))).scalar_one()
            emails = await session.execute(
                select(ContactPoint.value).where(ContactPoint.kind == ContactKind.EMAIL)
            )
            assert list(emails.scalars()) == [CITIZEN]
    assert (callback.routes, callback.status) == ([], CallbackStatus.UNREACHED)
    assert callback.last_error == plan.NO_ROUTE
    assert ticket.status == TicketStatus.RESOLVED
