"""Helpers of the rating page's tests: a letter citizen asked by SMS, and the link they get
in the SMS Twilio (faked at its REST API) receives from the push worker."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import ClientResponse
from sqlmodel import col, select

from hotline.callbacks import wording
from hotline.callbacks.worker import CallbackWorker
from hotline.services import Services
from hotline.storage.models import Message, SatisfactionCallback, TicketEvent
from hotline.storage.repos import tickets as ticket_repo
from tests.callbacks.conftest import Client, Headers, Sms
from tests.channels.test_twilio import TWILIO
from tests.web.test_ticket_actions import LETTER, act

LINK_BASE = "https://12345.example.gov.cn"
SECRET = "rating-link-secret-for-tests-0123456789"
LINK = {"base_url": LINK_BASE, "secret": SECRET}
_LINK = re.compile(re.escape(LINK_BASE) + r"(/r/[A-Za-z0-9_-]{32})")


def sms_channels(api_url: str) -> dict[str, Any]:
    """SMS through Twilio at ``api_url``: a letter citizen with a mobile number is asked by SMS
    (at the phone the letter gives, kept on the ticket; the letter box does not ask these tests'
    letters for a phone code)."""
    return {"twilio": {**TWILIO, "api_base_url": api_url}, "letters": {"verify_phone": False}}


async def resolved_letter(
    client: Client, staff: dict[str, Headers], app_headers: Headers, sms: Sms, **letter: str
) -> str:
    """A letter (市长信箱) routed to 城管 and resolved (办结), its result sent by SMS (a
    letter's conversation cannot bring it); its number."""
    response = await client.post("/api/v1/letters", json=LETTER | letter, headers=app_headers)
    assert response.status == 201, await response.text()
    number = str((await response.json())["ticket"]["number"])
    await act(client, staff["agent"], number, "assign", 200, unit_code="LJ-CG")
    await act(client, staff["cg"], number, "accept", 200)
    await act(client, staff["cg"], number, "resolve", 200, reply="路灯已修复")
    assert await sms.send() == 1
    return number


async def asked_by_sms(
    client: Client,
    services: Services,
    staff: dict[str, Headers],
    app_headers: Headers,
    asker: CallbackWorker,
    sms: Sms,
    **letter: str,
) -> tuple[str, str]:
    """A resolved letter whose citizen was just asked by SMS: (number, the SMS Twilio took)."""
    number = await resolved_letter(client, staff, app_headers, sms, **letter)
    assert (await asker.run_once()).asked == 1
    callback = await the_callback(services, number)
    assert (callback.status, callback.channel) == ("awaiting", "sms")
    assert await sms.send() == 1
    return number, sms.received(letter.get("phone", LETTER["phone"]))


async def stored_question(services: Services, number: str) -> Message:
    """The latest question to the ticket's citizen, as the database holds it."""
    async with services.database.read() as session:
        ticket = await ticket_repo.by_number(session, number=number)
        found = await session.execute(
            select(Message)
            .where(Message.author == wording.QUESTION_AUTHOR, Message.ticket_id == ticket.id)
            .order_by(col(Message.id).desc())
        )
        question = found.scalars().first()
        assert question is not None
        return question


def link_path(text: str) -> str:
    """``/r/<token>`` of the link in ``text``."""
    found = _LINK.search(text)
    assert found, text
    return found.group(1)


async def the_callback(services: Services, number: str) -> SatisfactionCallback:
    async with services.database.read() as session:
        ticket = await ticket_repo.by_number(session, number=number)
        found = await session.execute(
            select(SatisfactionCallback)
            .where(SatisfactionCallback.ticket_id == ticket.id)
            .order_by(col(SatisfactionCallback.round).desc())
        )
        callback = found.scalars().first()
        assert callback is not None
        return callback


async def actions(services: Services, number: str) -> list[str]:
    """The ticket's history, as action names."""
    async with services.database.read() as session:
        ticket = await ticket_repo.by_number(session, number=number)
        found = await session.execute(
            select(TicketEvent.action)
            .where(TicketEvent.ticket_id == ticket.id)
            .order_by(col(TicketEvent.id))
        )
        return list(found.scalars())


async def rate(client: Client, path: str, **fields: Any) -> ClientResponse:
    """Post the page's form as a browser does: the token from the link, then ``fields``."""
    form = {"token": path.removeprefix("/r/"), **fields}
    return await client.post(path, data=form)


def paragraphs(html: str) -> list[str]:
    """The text of the page's paragraphs (markup and escapes left as they are)."""
    return re.findall(r"<p>(.*?)</p>", html)
