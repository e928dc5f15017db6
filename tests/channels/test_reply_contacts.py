"""A letter is answered at the e-mail address written on it, also when that address belongs to
another citizen (a son writing for his mother gives her address): the result (办结) and the
satisfaction callback (回访) are mailed there through real SMTP and IMAP servers, her answer
closes his ticket, and he never sees her tickets. Without an address the letter is answered as
it always was."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from hotline.callbacks import wording
from hotline.callbacks.setup import build_callback_worker
from hotline.intake.messages import InboundMessage
from hotline.intake.status import not_found_sentence
from hotline.storage.models import (
    CallbackStatus,
    CitizenPush,
    ContactKind,
    ContactPoint,
    Rating,
    SatisfactionCallback,
    Ticket,
    TicketStatus,
)
from hotline.web.app import create_app
from tests.channels.email_desk import MailDesk
from tests.channels.mail_servers import Folders, SmtpInbox, citizen_mail, text_of
from tests.channels.test_email_callbacks import open311_desk
from tests.conftest import API_KEY
from tests.web.conftest import ClientFactory
from tests.web.test_ticket_actions import act, history, make_staff

Client = TestClient[Any, Any]
Headers = dict[str, str]
MOTHER = "mother@example.com"
SON_PHONE = "13900139000"
LETTER = {
    "title": "替母亲反映楼道灯不亮",
    "content": "我母亲住的幸福小区三单元楼道灯坏了一个月，老人晚上上下楼很危险。",
    "name": "李先生",
    "phone": SON_PHONE,
    "email": " Mother@Example.com ",
}
REPLY = "楼道灯已全部更换"


async def mothers_ticket(desk: MailDesk) -> Ticket:
    """The mother wrote to the mailbox herself first: the address is hers."""
    desk.folders.deliver(
        citizen_mail("小区门口的下水道堵了。", subject="下水道堵塞", sender=f"王阿姨 <{MOTHER}>")
    )
    assert (await desk.poll()).created == 1
    assert await desk.send() == 1  # her acknowledgement
    [ticket] = await desk.tickets()
    return ticket


async def sons_letter(client: Client, services: Any, **changes: Any) -> Ticket:
    body = {**LETTER, **changes}
    response = await client.post("/api/v1/letters", json=body, headers={"X-Api-Key": API_KEY})
    assert response.status == 201, await response.text()
    number = (await response.json())["ticket"]["number"]
    async with services.database.read() as session:
        found = await session.execute(select(Ticket).where(Ticket.number == number))
        return found.scalar_one()


async def resolve(client: Client, staff: dict[str, Headers], number: str) -> Any:
    await act(client, staff["agent"], number, "assign", 200, unit_code="LJ-CG")
    await act(client, staff["cg"], number, "accept", 200)
    return await act(client, staff["cg"], number, "resolve", 200, reply=REPLY)


async def owners_of(desk: MailDesk, value: str) -> list[int]:
    async with desk.services.database.read() as session:
        rows = await session.execute(
            select(ContactPoint.citizen_id).where(ContactPoint.value == value)
        )
        return list(rows.scalars())


async def only_callback(desk: MailDesk) -> SatisfactionCallback:
    async with desk.services.database.read() as session:
        return (await session.execute(select(SatisfactionCallback))).scalar_one()


async def ask(desk: MailDesk) -> int:
    services = desk.services
    assert services.callbacks is not None
    asker = build_callback_worker(
        services.config, services.callbacks, services.pipeline.outgoing, name="t"
    )
    return (await asker.run_once()).asked


async def test_a_letter_is_answered_at_the_address_on_it_though_another_citizen_owns_it(
    tmp_path: Path,
    database_url: str,
    analyzer: Any,
    encoder: Any,
    folders: Folders,
    smtp: tuple[SmtpInbox, int],
    aiohttp_client: ClientFactory,
) -> None:
    async with open311_desk(tmp_path, database_url, analyzer, encoder, folders, smtp) as desk:
        services = desk.services
        hers = await mothers_ticket(desk)
        client: Client = await aiohttp_client(create_app(services))
        letter = await sons_letter(client, services)
        assert letter.contact_email == MOTHER
        assert letter.citizen_id != hers.citizen_id  # two citizens, never joined
        assert await owners_of(desk, MOTHER) == [hers.citizen_id]
        staff = await make_staff(client, services)
        resolved = await resolve(client, staff, letter.number)
        assert resolved["message"]["text"].endswith(REPLY)  # in the letter's own conversation
        # the result, by mail, in a thread of its own
        assert await desk.send() == 1
        _, to, result = desk.smtp.mails[-1]
        assert to == [MOTHER]
        assert result["Subject"] == f"{LETTER['title']} [工单 {letter.number}]"
        assert result["In-Reply-To"] is None
        assert f"【工单 {letter.number} 办理结果】{REPLY}" in text_of(result)
        # the callback, at the same address and in the same thread
        callback = await only_callback(desk)
        assert callback.routes == [{"method": "message", "channel": "email", "address": MOTHER}]
        assert await ask(desk) == 1
        assert await desk.send() == 1
        _, to, question = desk.smtp.mails[-1]
        assert to == [MOTHER]
        assert question["Subject"] == result["Subject"]
        assert wording.question(letter.number) in text_of(question)
        folders.deliver(
            citizen_mail(
                "满意", sender=f"王阿姨 <{MOTHER}>", subject=f"回复：{question['Subject']}",
                In_Reply_To=question["Message-ID"],
            )
        )  # fmt: skip
        report = await desk.poll()
        assert (report.rated, report.supplemented, report.created) == (1, 0, 0)
        async with services.database.read() as session:
            closed = await session.get(Ticket, letter.id)
            still = await session.get(Ticket, hers.id)
        lines = await history(client, staff["agent"], letter.number)
    assert closed is not None
    assert closed.status == TicketStatus.CLOSED
    assert (await only_callback(desk)).rating == Rating.SATISFIED
    assert still is not None
    assert still.status == TicketStatus.TRIAGE  # hers: untouched
    mailed = next(line for line in lines if line["action"] == "result_mailed")
    assert (mailed["from"], mailed["to"]) == ("letter", "email")
    assert mailed["note"] == "办理结果另经邮件发送（m***@example.com）"
    assert MOTHER not in str(lines)


async def test_the_writer_never_sees_the_tickets_of_the_address_owner(
    tmp_path: Path,
    database_url: str,
    analyzer: Any,
    encoder: Any,
    folders: Folders,
    smtp: tuple[SmtpInbox, int],
    aiohttp_client: ClientFactory,
) -> None:
    async with open311_desk(tmp_path, database_url, analyzer, encoder, folders, smtp) as desk:
        services = desk.services
        hers = await mothers_ticket(desk)
        client: Client = await aiohttp_client(create_app(services))
        letter = await sons_letter(client, services)
        # he asks by SMS from the phone on his letter: the hotline knows him by that phone
        asked = []
        for n, text in enumerate(["查询我的工单进度", f"查询工单 {hers.number}"]):
            message = InboundMessage("sms", SON_PHONE, f"sms-{n}", text, contact_phone=SON_PHONE)
            result = await services.pipeline.submit(message)
            asked.append(" ".join(reply.text for reply in result.replies))
        his_contacts = await owners_of(desk, "+86" + SON_PHONE)  # stored as E.164
    mine, theirs = asked
    # no SMS configured here: his letter's phone was never verified, so the number's SMS
    # sender is not shown it either (a typed number is nobody's identity)
    assert letter.number not in mine
    assert hers.number not in mine
    assert "下水道" not in mine + theirs
    assert not_found_sentence(hers.number) in theirs
    assert len(his_contacts) == 1
    assert his_contacts != [letter.citizen_id]


async def test_a_letter_without_an_address_is_answered_as_before(
    tmp_path: Path,
    database_url: str,
    analyzer: Any,
    encoder: Any,
    folders: Folders,
    smtp: tuple[SmtpInbox, int],
    aiohttp_client: ClientFactory,
) -> None:
    async with open311_desk(tmp_path, database_url, analyzer, encoder, folders, smtp) as desk:
        services = desk.services
        client: Client = await aiohttp_client(create_app(services))
        letter = await sons_letter(client, services, email=None)
        assert letter.contact_email is None
        staff = await make_staff(client, services)
        await resolve(client, staff, letter.number)
        assert await desk.count(CitizenPush) == 0  # nothing to mail: the result stays put
        callback = await only_callback(desk)
        lines = await history(client, staff["agent"], letter.number)
    assert (callback.routes, callback.status) == ([], CallbackStatus.UNREACHED)
    assert "result_mailed" not in [line["action"] for line in lines]
    assert desk.smtp.mails == []


async def test_an_address_nobody_owns_becomes_the_writers_own(
    tmp_path: Path,
    database_url: str,
    analyzer: Any,
    encoder: Any,
    folders: Folders,
    smtp: tuple[SmtpInbox, int],
    aiohttp_client: ClientFactory,
) -> None:
    async with open311_desk(tmp_path, database_url, analyzer, encoder, folders, smtp) as desk:
        services = desk.services
        client: Client = await aiohttp_client(create_app(services))
        letter = await sons_letter(client, services)
        assert await owners_of(desk, MOTHER) == [letter.citizen_id]
        async with services.database.read() as session:
            kinds = await session.execute(
                select(ContactPoint.kind).where(ContactPoint.citizen_id == letter.citizen_id)
            )
            # the e-mail address as always; the phone, unverified without SMS, is not attached
            assert list(kinds.scalars()) == [ContactKind.EMAIL]
