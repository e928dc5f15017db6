"""The rating page: a signed link in the SMS question, the page it opens, and the answer given
there acting exactly as the same answer written back by SMS."""

from typing import Any

import pytest
from sqlmodel import col, select

from hotline.callbacks import wording
from hotline.callbacks.links import RatingLinks, hide_tokens
from hotline.callbacks.worker import CallbackWorker
from hotline.services import Services
from hotline.storage.models import (
    CitizenPush,
    Dispatch,
    DispatchKind,
    Message,
    PushStatus,
    Rating,
    Ticket,
    TicketStatus,
)
from hotline.storage.repos import tickets as ticket_repo
from tests.callbacks.conftest import Client, Headers, Sms
from tests.callbacks.rating_desk import (
    LINK,
    LINK_BASE,
    actions,
    asked_by_sms,
    link_path,
    paragraphs,
    rate,
    resolved_letter,
    sms_channels,
    stored_question,
    the_callback,
)
from tests.channels.fake_twilio_api import FakeTwilioApi
from tests.channels.test_twilio import signed, twiml


@pytest.fixture
def callback_overrides() -> dict[str, Any]:
    return {"link": LINK}


@pytest.fixture
def channel_overrides(twilio_api: tuple[FakeTwilioApi, str]) -> dict[str, Any]:
    return sms_channels(twilio_api[1])


async def test_the_sms_question_carries_a_short_link(
    client: Client, services: Services, staff: dict[str, Headers], app_headers: Headers,
    asker: CallbackWorker, sms: Sms,
) -> None:  # fmt: skip
    number, text = await asked_by_sms(client, services, staff, app_headers, asker, sms)
    path = link_path(text)
    assert text == wording.sms_question(number, LINK_BASE + path)
    assert len(text) <= 134  # two SMS segments of Chinese text
    stored = await stored_question(services, number)  # the token is signed only as it is sent
    assert stored.text == wording.sms_question(number, LINK_BASE + "/r/…")
    callback = await the_callback(services, number)
    assert callback.expires_at is not None
    assert services.callbacks is not None
    assert services.callbacks.links is not None
    claim = services.callbacks.links.read(path.removeprefix("/r/"))
    assert claim.callback_id == callback.id
    assert claim.expires_at == callback.expires_at.replace(microsecond=0)  # valid while asked


@pytest.mark.parametrize("callback_overrides", [{}])
async def test_without_a_base_url_no_link_is_sent_and_no_page_served(
    client: Client, services: Services, staff: dict[str, Headers], app_headers: Headers,
    asker: CallbackWorker, sms: Sms,
) -> None:  # fmt: skip
    number, text = await asked_by_sms(client, services, staff, app_headers, asker, sms)
    assert text == wording.question(number)
    assert services.callbacks is not None
    assert services.callbacks.links is None
    callback = await the_callback(services, number)
    assert callback.expires_at is not None
    token = RatingLinks(LINK_BASE, LINK["secret"].encode()).token(
        callback.id or 0, callback.expires_at
    )
    assert (await client.get(f"/r/{token}")).status == 404


async def test_the_page_shows_the_ticket_with_personal_data_masked_and_escaped(
    client: Client, services: Services, staff: dict[str, Headers], app_headers: Headers,
    asker: CallbackWorker, sms: Sms,
) -> None:  # fmt: skip
    title = "<b>路灯</b>不亮，请回电13912345678"
    number, text = await asked_by_sms(client, services, staff, app_headers, asker, sms, title=title)
    path = link_path(text)
    response = await client.get(path)
    assert response.status == 200
    assert response.content_type == "text/html"
    assert response.charset == "utf-8"
    html = await response.text()
    assert f"工单 <strong>{number}</strong> 已办结。" in html
    assert "&lt;b&gt;路灯&lt;/b&gt;不亮，请回电139****5678" in html
    assert "13912345678" not in html
    assert "<b>" not in html
    for value, label in (("satisfied", "满意"), ("basic", "基本满意"), ("unsatisfied", "不满意")):
        assert f'value="{value}" required>{label}</label>' in html
    assert f'<input type="hidden" name="token" value="{path.removeprefix("/r/")}">' in html
    assert '<textarea id="reason" name="reason" rows="4" maxlength="1000">' in html
    assert 'name="viewport"' in html
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "Set-Cookie" not in response.headers
    assert (await the_callback(services, number)).status == "awaiting"  # looking writes nothing


async def test_unsatisfied_on_the_page_acts_exactly_as_the_same_answer_by_sms(
    client: Client, services: Services, staff: dict[str, Headers], app_headers: Headers,
    asker: CallbackWorker, sms: Sms,
) -> None:  # fmt: skip
    by_text = await resolved_letter(client, staff, app_headers, sms)  # phone 13912345678
    by_link = await resolved_letter(
        client, staff, app_headers, sms, phone="13700001111", content="胜利路口的路灯也不亮"
    )
    assert (await asker.run_once()).asked == 2
    assert await sms.send() == 2
    reply = {"From": "+8613912345678", "To": "+8610012345", "MessageSid": "SM1",
             "Body": "不满意，路灯还是不亮"}  # fmt: skip
    said = await twiml(await signed(client, "/channels/twilio/sms", reply))
    response = await rate(
        client,
        link_path(sms.received("13700001111")),
        rating="unsatisfied",
        reason="  路灯还是不亮\r\n晚上很黑  ",
    )
    assert response.status == 200, await response.text()
    [shown] = paragraphs(await response.text())
    assert shown.startswith(f"很抱歉没能让您满意。工单 {by_link} 已交临江市城市管理局")
    assert f"很抱歉没能让您满意。工单 {by_text} 已交临江市城市管理局" in said
    for number, via, reason in (
        (by_text, "message:sms", "路灯还是不亮"),
        (by_link, "link", "路灯还是不亮\n晚上很黑"),
    ):
        callback = await the_callback(services, number)
        assert (callback.status, callback.rating, callback.answered_via) == (
            "answered", Rating.UNSATISFIED, via,
        )  # fmt: skip
        assert (callback.reason, callback.reason_until) == (reason, None)
        ticket, dispatches, pushes = await aftermath(services, number)
        assert (ticket.status, ticket.closed_at) == (TicketStatus.DISPATCHED, None)  # 重办
        assert dispatches == [DispatchKind.DISPATCHED] * 2  # first, and again at the reopen
        assert pushes == [PushStatus.SENT]
    assert await actions(services, by_link) == await actions(services, by_text)
    assert (await actions(services, by_link))[-3:] == [
        "callback_asked", "callback_rated", "reopened",
    ]  # fmt: skip


async def aftermath(services: Services, number: str) -> tuple[Ticket, list[str], list[str]]:
    """The ticket, its dispatches' kinds, and the status of the question's SMS."""
    async with services.database.read() as session:
        ticket = await ticket_repo.by_number(session, number=number)
        dispatches = await session.execute(
            select(Dispatch.kind).where(Dispatch.ticket_id == ticket.id).order_by(col(Dispatch.id))
        )
        pushes = await session.execute(
            select(CitizenPush.status)
            .join(Message, col(Message.id) == col(CitizenPush.message_id))
            .where(Message.author == wording.QUESTION_AUTHOR, Message.ticket_id == ticket.id)
        )
        return ticket, list(dispatches.scalars()), list(pushes.scalars())


async def test_satisfied_closes_and_a_second_answer_changes_nothing(
    client: Client, services: Services, staff: dict[str, Headers], app_headers: Headers,
    asker: CallbackWorker, sms: Sms,
) -> None:  # fmt: skip
    number, text = await asked_by_sms(client, services, staff, app_headers, asker, sms)
    path = link_path(text)
    first = await rate(client, path, rating="satisfied")
    assert first.status == 200
    assert paragraphs(await first.text()) == [
        wording.THANKS[Rating.SATISFIED].format(number=number)
    ]
    again = await rate(client, path, rating="unsatisfied", reason="又坏了")
    assert again.status == 410
    assert paragraphs(await again.text()) == [wording.already_rated(number, Rating.SATISFIED)]
    looked = await client.get(path)
    assert looked.status == 410
    assert paragraphs(await looked.text()) == [wording.already_rated(number, Rating.SATISFIED)]
    callback = await the_callback(services, number)
    assert (callback.rating, callback.reason, callback.answered_via) == ("satisfied", None, "link")
    ticket, _, _ = await aftermath(services, number)
    assert ticket.status == TicketStatus.CLOSED
    assert (await actions(services, number)).count("callback_rated") == 1


async def test_unsatisfied_without_a_reason_asks_for_it_by_reply(
    client: Client, services: Services, staff: dict[str, Headers], app_headers: Headers,
    asker: CallbackWorker, sms: Sms,
) -> None:  # fmt: skip
    number, text = await asked_by_sms(client, services, staff, app_headers, asker, sms)
    response = await rate(client, link_path(text), rating="unsatisfied", reason="   ")
    assert response.status == 200
    shown = paragraphs(await response.text())
    assert shown[-1] == wording.LINK_REASON_LATER
    callback = await the_callback(services, number)
    assert (callback.reason, callback.reason_until is not None) == (None, True)
    reply = {"From": "+8613912345678", "To": "+8610012345", "MessageSid": "SM2",
             "Body": "路灯晚上还是不亮"}  # fmt: skip
    said = await twiml(await signed(client, "/channels/twilio/sms", reply))
    assert wording.REASON_NOTED in said  # the reply is taken as the reason, as after "3"
    assert (await the_callback(services, number)).reason == "路灯晚上还是不亮"


async def test_staff_see_that_a_link_was_sent_but_not_its_token(
    client: Client, services: Services, staff: dict[str, Headers], app_headers: Headers,
    asker: CallbackWorker, sms: Sms,
) -> None:  # fmt: skip
    # With the token, anyone on the desk could rate in the citizen's place.
    number, text = await asked_by_sms(client, services, staff, app_headers, asker, sms)
    token = link_path(text).removeprefix("/r/")
    question = await stored_question(services, number)
    response = await client.get(
        f"/api/v1/staff/live/{question.conversation_id}", headers=staff["agent"]
    )
    assert response.status == 200, await response.text()
    body = await response.text()
    assert token not in body
    assert "/r/…" in body
    assert hide_tokens(f"{LINK_BASE}/r/{token}。") == f"{LINK_BASE}/r/…。"
    assert hide_tokens(f"/r/{token}x") == f"/r/{token}x"  # not a token: left alone
