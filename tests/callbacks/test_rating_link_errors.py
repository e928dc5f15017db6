"""The rating page refuses what it cannot take, in plain Chinese, and writes nothing then:
links we did not sign, links whose question has expired or ended, malformed forms, and a
database that is down."""

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from hotline.callbacks import wording
from hotline.callbacks.links import RatingLinks
from hotline.callbacks.worker import CallbackWorker
from hotline.services import Services, build_services
from hotline.storage.models import CallbackStatus, SatisfactionCallback, TicketStatus
from hotline.storage.repos import tickets as ticket_repo
from hotline.storage.types import utcnow
from hotline.web.app import create_app
from tests.callbacks.conftest import Client, Headers, Sms, callback_config
from tests.callbacks.rating_desk import (
    LINK,
    LINK_BASE,
    SECRET,
    actions,
    asked_by_sms,
    link_path,
    paragraphs,
    rate,
    sms_channels,
    the_callback,
)
from tests.channels.fake_twilio_api import FakeTwilioApi
from tests.web.conftest import ClientFactory

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
UNKNOWN_RATING = "评价只能是“满意”“基本满意”或“不满意”之一，评价未保存。"
NO_RATING = "请选择“满意”“基本满意”或“不满意”后再提交。"
TOO_LONG = "原因最多 1000 字，您填写了 1001 字。评价未保存，请删减后再提交。"
CONTROL = "原因中有无法保存的控制字符，评价未保存。"
MISMATCH = "表单与链接不符，请重新打开链接后提交。"
TWICE = "表单中的“评价”出现了两次，评价未保存。"
UNREADABLE = "表单内容无法读取，评价未保存。"
OVERSIZED = "提交的内容过长，评价未保存。原因请控制在 1000 字以内。"
NOT_A_FORM = "请在评价页面内提交评价（表单格式不对）。"
CROSS_SITE = "请在评价页面内提交评价。"


@pytest.fixture
def callback_overrides() -> dict[str, Any]:
    return {"link": LINK}


@pytest.fixture
def channel_overrides(twilio_api: tuple[FakeTwilioApi, str]) -> dict[str, Any]:
    return sms_channels(twilio_api[1])


async def refused(response: Any, status: int, message: str) -> None:
    """A page with ``status`` that says ``message`` and offers no form."""
    html = await response.text()
    assert response.status == status, html
    assert response.content_type == "text/html"
    assert paragraphs(html) == [message]
    assert "<form" not in html


async def unchanged(services: Services, number: str) -> None:
    """Nothing was written: the question still waits, the ticket is still resolved."""
    callback = await the_callback(services, number)
    assert (callback.status, callback.rating, callback.reason) == ("awaiting", None, None)
    async with services.database.read() as session:
        ticket = await ticket_repo.by_number(session, number=number)
    assert ticket.status == TicketStatus.RESOLVED
    assert "callback_rated" not in await actions(services, number)


def links(services: Services) -> RatingLinks:
    assert services.callbacks is not None
    assert services.callbacks.links is not None
    return services.callbacks.links


async def test_a_link_we_did_not_sign_is_not_found_and_says_nothing_more(
    client: Client, services: Services, staff: dict[str, Headers], app_headers: Headers,
    asker: CallbackWorker, sms: Sms,
) -> None:  # fmt: skip
    number, text = await asked_by_sms(client, services, staff, app_headers, asker, sms)
    token = link_path(text).removeprefix("/r/")
    callback = await the_callback(services, number)
    assert callback.id is not None
    assert callback.expires_at is not None
    later = callback.expires_at + timedelta(days=30)
    flipped = "A" if token[-1] != "A" else "B"
    forged = [
        token[:-1] + flipped,  # the signature changed
        ("A" if token[0] != "A" else "B") + token[1:],  # the callback id changed
        links(services).token(callback.id, later)[:11] + token[11:],  # a later expiry spliced in
        RatingLinks(LINK_BASE, b"another-secret-0123456789-abcdefgh").token(callback.id, later),
        links(services).token(callback.id + 1000, later),  # signed, but no such callback
        "abc",
        "!" * 32,
        token + "A",
    ]
    for bad in forged:
        await refused(await client.get(f"/r/{bad}"), 404, wording.LINK_INVALID)
        posted = await client.post(f"/r/{bad}", data={"token": bad, "rating": "satisfied"})
        await refused(posted, 404, wording.LINK_INVALID)
    await unchanged(services, number)


async def test_an_expired_link_is_gone(
    client: Client, services: Services, staff: dict[str, Headers], app_headers: Headers,
    asker: CallbackWorker, sms: Sms,
) -> None:  # fmt: skip
    number, _ = await asked_by_sms(client, services, staff, app_headers, asker, sms)
    callback = await the_callback(services, number)
    assert callback.id is not None
    past = links(services).token(callback.id, utcnow() - timedelta(seconds=1))
    await refused(await client.get(f"/r/{past}"), 410, wording.LINK_EXPIRED)
    await refused(await rate(client, f"/r/{past}", rating="satisfied"), 410, wording.LINK_EXPIRED)
    await unchanged(services, number)


@pytest.mark.parametrize("callback_overrides", [{"link": LINK, "max_attempts": 2}])
async def test_a_link_expires_with_its_question_and_the_next_question_has_its_own(
    client: Client, services: Services, staff: dict[str, Headers], app_headers: Headers,
    asker: CallbackWorker, sms: Sms,
) -> None:  # fmt: skip
    number, text = await asked_by_sms(client, services, staff, app_headers, asker, sms)
    first = link_path(text)
    later = utcnow() + timedelta(hours=49)  # the worker's clock: past the answer window
    assert (await asker.run_once(now=later)).expired == 1
    await refused(await client.get(first), 410, wording.LINK_EXPIRED)
    assert (await asker.run_once(now=later + timedelta(hours=3))).asked == 1  # asked again
    assert await sms.send() == 1
    second = link_path(sms.received())
    assert second != first
    await refused(await rate(client, first, rating="satisfied"), 410, wording.LINK_EXPIRED)
    assert (await client.get(second)).status == 200
    assert (await rate(client, second, rating="basic")).status == 200
    assert (await the_callback(services, number)).rating == "basic"


@pytest.mark.parametrize("status", [CallbackStatus.UNREACHED, CallbackStatus.CANCELLED])
async def test_a_link_to_a_callback_that_has_ended_is_gone(
    client: Client, services: Services, staff: dict[str, Headers], app_headers: Headers,
    asker: CallbackWorker, sms: Sms, status: CallbackStatus,
) -> None:  # fmt: skip
    number, text = await asked_by_sms(client, services, staff, app_headers, asker, sms)
    callback_id = (await the_callback(services, number)).id
    async with services.database.session() as session:
        callback = await session.get(SatisfactionCallback, callback_id)
        assert callback is not None
        callback.status = status
    path = link_path(text)
    await refused(await client.get(path), 410, wording.LINK_ENDED)
    await refused(await rate(client, path, rating="satisfied"), 410, wording.LINK_ENDED)
    assert (await the_callback(services, number)).rating is None


async def test_a_malformed_answer_is_refused_precisely_and_nothing_is_written(
    client: Client, services: Services, staff: dict[str, Headers], app_headers: Headers,
    asker: CallbackWorker, sms: Sms,
) -> None:  # fmt: skip
    number, text = await asked_by_sms(client, services, staff, app_headers, asker, sms)
    path = link_path(text)
    token = path.removeprefix("/r/")
    fields = [
        ({"rating": "great"}, 400, UNKNOWN_RATING),
        ({"reason": "路灯不亮"}, 400, NO_RATING),
        ({"rating": "unsatisfied", "reason": "很" * 1001}, 400, TOO_LONG),
        ({"rating": "unsatisfied", "reason": "坏了\x00"}, 400, CONTROL),
    ]
    for form, status, message in fields:
        await refused(await rate(client, path, **form), status, message)
    rated = f"token={token}&rating=satisfied"
    raw = [
        ("rating=satisfied", FORM, 400, MISMATCH),
        (f"token={token[:-1]}x&rating=satisfied", FORM, 400, MISMATCH),
        (f"{rated}&rating=unsatisfied", FORM, 400, TWICE),
        (f"{rated}&reason=%FF%FE", FORM, 400, UNREADABLE),
        (f"{rated}&reason=" + "a" * 20_000, FORM, 413, OVERSIZED),
        ('{"rating": "satisfied"}', {"Content-Type": "application/json"}, 415, NOT_A_FORM),
        (rated, {**FORM, "Sec-Fetch-Site": "cross-site"}, 403, CROSS_SITE),
    ]
    for body, headers, status, message in raw:
        await refused(await client.post(path, data=body, headers=headers), status, message)
    await unchanged(services, number)
    same_site = {**FORM, "Sec-Fetch-Site": "same-origin"}  # what the page's own form sends
    accepted = await client.post(path, data=f"token={token}&rating=basic", headers=same_site)
    assert accepted.status == 200


async def test_a_database_that_is_down_gives_503_and_stores_nothing(
    tmp_path: Path, analyzer: Any, encoder: Any, aiohttp_client: ClientFactory
) -> None:
    down = "postgresql+asyncpg://nobody@127.0.0.1:1/none"
    config = callback_config(tmp_path, down, callbacks={"link": LINK})
    services = build_services(config, analyzer=analyzer, encoder=encoder)
    try:
        client = await aiohttp_client(create_app(services))
        token = RatingLinks(LINK_BASE, SECRET.encode()).token(1, utcnow() + timedelta(hours=1))
        await refused(await client.get(f"/r/{token}"), 503, wording.PAGE_UNAVAILABLE)
        posted = await rate(client, f"/r/{token}", rating="unsatisfied", reason="路灯不亮")
        await refused(posted, 503, wording.PAGE_UNAVAILABLE)
    finally:
        await services.database.dispose()
