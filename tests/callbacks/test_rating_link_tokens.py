"""No rating link's token is ever written down: the stored question says ``/r/…`` and the push
worker signs the token only as it hands the SMS to Twilio (faked at its REST API). Whoever reads
the database, a backup or the logs cannot rate in the citizen's place; the citizen's link works,
also when it went out on a retry, and a question stored with its token before still works."""

import logging
import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlmodel import SQLModel, col

from hotline.callbacks import links as rating_links
from hotline.callbacks import wording
from hotline.callbacks.worker import CallbackWorker
from hotline.channels.push import PushWorker
from hotline.services import Services
from hotline.storage.models import CitizenPush, Message, PushStatus, Rating
from hotline.storage.types import utcnow
from tests.callbacks.conftest import Client, Headers, Sms
from tests.callbacks.rating_desk import (
    LINK,
    LINK_BASE,
    link_path,
    rate,
    resolved_letter,
    sms_channels,
    stored_question,
    the_callback,
)
from tests.channels.fake_twilio_api import FakeTwilioApi

#: any rating link's token, wherever it appears
ANY_TOKEN = re.compile(r"/r/[A-Za-z0-9_-]{32}(?![A-Za-z0-9_-])")


@pytest.fixture
def callback_overrides() -> dict[str, Any]:
    return {"link": LINK}


@pytest.fixture
def channel_overrides(twilio_api: tuple[FakeTwilioApi, str]) -> dict[str, Any]:
    return sms_channels(twilio_api[1])


async def database_dump(services: Services) -> str:
    """Every row of every table, as text."""
    rows: list[str] = []
    async with services.database.read() as session:
        for table in SQLModel.metadata.sorted_tables:
            rows.extend(repr(tuple(row)) for row in await session.execute(select(table)))
    return "\n".join(rows)


async def expected_token(services: Services, number: str) -> str:
    """The token the question's link must carry: its callback, until its attempt expires."""
    callback = await the_callback(services, number)
    assert services.callbacks is not None
    assert services.callbacks.links is not None
    assert callback.id is not None
    assert callback.expires_at is not None
    return services.callbacks.links.token(callback.id, callback.expires_at)


async def works(client: Client, services: Services, number: str, path: str) -> None:
    """The link opens the page and takes the rating."""
    page = await client.get(path)
    assert page.status == 200, await page.text()
    assert f"工单 <strong>{number}</strong>" in await page.text()
    assert (await rate(client, path, rating="basic")).status == 200
    callback = await the_callback(services, number)
    assert (callback.rating, callback.answered_via) == (Rating.BASIC, "link")


async def make_due(services: Services) -> None:
    """Bring a push waiting for its retry forward to now."""
    async with services.database.session() as session:
        await session.execute(update(CitizenPush).values(next_attempt_at=utcnow()))


async def the_push(services: Services) -> CitizenPush:
    """The question's push: the last written (the letter's result went by SMS before it)."""
    async with services.database.read() as session:
        newest = select(CitizenPush).order_by(col(CitizenPush.id).desc()).limit(1)
        return (await session.execute(newest)).scalars().one()


async def test_no_row_holds_the_token_before_or_after_sending_and_the_sent_link_works(
    client: Client, services: Services, staff: dict[str, Headers], app_headers: Headers,
    asker: CallbackWorker, sms: Sms,
) -> None:  # fmt: skip
    number = await resolved_letter(client, staff, app_headers, sms)
    assert (await asker.run_once()).asked == 1
    token = await expected_token(services, number)
    queued = await database_dump(services)
    assert token not in queued
    assert not ANY_TOKEN.search(queued)
    question = await stored_question(services, number)
    assert question.text == wording.sms_question(number, f"{LINK_BASE}/r/…")
    callback = await the_callback(services, number)
    assert callback.expires_at is not None
    assert question.meta == {
        "rating_link": {"callback": callback.id, "until": int(callback.expires_at.timestamp())}
    }
    assert await sms.send() == 1
    text = sms.received()
    assert link_path(text) == f"/r/{token}"
    assert text == wording.sms_question(number, f"{LINK_BASE}/r/{token}")
    sent = await database_dump(services)
    assert token not in sent
    assert not ANY_TOKEN.search(sent)
    assert (await the_push(services)).status == PushStatus.SENT
    await works(client, services, number, f"/r/{token}")
    assert token not in await database_dump(services)


async def test_a_send_retried_after_a_failure_carries_the_same_working_link(
    client: Client, services: Services, staff: dict[str, Headers], app_headers: Headers,
    asker: CallbackWorker, sms: Sms,
) -> None:  # fmt: skip
    number = await resolved_letter(client, staff, app_headers, sms)
    assert (await asker.run_once()).asked == 1
    sms.api.script = [(503, 20500)]  # Twilio's outage: retried later
    report = await sms.worker.run_once()
    assert (report.sent, report.failed) == (0, 1)
    failed = await the_push(services)
    assert (failed.status, failed.attempts) == (PushStatus.PENDING, 1)
    assert failed.last_error is not None
    assert "20500" in failed.last_error
    await make_due(services)
    assert await sms.send() == 1
    _, refused, taken = sms.api.tried  # the result, then the question twice
    assert refused["Body"] == taken["Body"]  # the same link both times
    assert sms.api.sent[1:] == [taken]
    token = await expected_token(services, number)
    assert link_path(taken["Body"]) == f"/r/{token}"
    assert not ANY_TOKEN.search(await database_dump(services))
    await works(client, services, number, f"/r/{token}")


async def test_nothing_logged_holds_the_token(
    client: Client, services: Services, staff: dict[str, Headers], app_headers: Headers,
    asker: CallbackWorker, sms: Sms, caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="sqlalchemy.engine")  # statements and parameters
    number = await resolved_letter(client, staff, app_headers, sms)
    assert (await asker.run_once()).asked == 1
    sms.api.script = [(503, 20500)]
    assert (await sms.worker.run_once()).failed == 1
    await make_due(services)
    assert await sms.send() == 1
    token = await expected_token(services, number)
    await works(client, services, number, f"/r/{token}")
    live = await client.get(f"/api/v1/staff/tickets/{number}", headers=staff["agent"])
    assert live.status == 200
    # The test server's access log names the path it served; ``hotline serve`` keeps no
    # access log (hotline/web/server.py), so only our and our libraries' records count.
    records = [r for r in caplog.records if r.name != "aiohttp.access"]
    assert any(r.name.startswith("sqlalchemy.engine") for r in records)  # the check can fail
    assert any(r.name == "hotline.channels.push" for r in records)
    for record in records:
        logged = record.getMessage() + (record.exc_text or "")
        assert token not in logged, record.name
        assert not ANY_TOKEN.search(logged), (record.name, logged)


async def test_a_question_stored_with_its_token_before_is_sent_as_stored_and_hidden_from_staff(
    client: Client, services: Services, staff: dict[str, Headers], app_headers: Headers,
    asker: CallbackWorker, sms: Sms,
) -> None:  # fmt: skip
    number = await resolved_letter(client, staff, app_headers, sms)
    assert (await asker.run_once()).asked == 1
    token = await expected_token(services, number)
    old = wording.sms_question(number, f"{LINK_BASE}/r/{token}")
    question = await stored_question(services, number)
    async with services.database.session() as session:  # as the worker wrote it until now
        await session.execute(
            update(Message).where(Message.id == question.id).values(text=old, meta={})
        )
    assert await sms.send() == 1
    assert sms.received() == old
    shown = await client.get(
        f"/api/v1/staff/live/{question.conversation_id}", headers=staff["agent"]
    )
    assert shown.status == 200, await shown.text()
    body = await shown.text()
    assert token not in body
    assert f"{LINK_BASE}/r/…" in body
    await works(client, services, number, f"/r/{token}")


async def test_a_sender_without_the_link_secret_sends_nothing_and_says_which_setting(
    client: Client, services: Services, staff: dict[str, Headers], app_headers: Headers,
    asker: CallbackWorker, sms: Sms, caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    number = await resolved_letter(client, staff, app_headers, sms)
    assert (await asker.run_once()).asked == 1
    tried = len(sms.api.tried)  # the letter's result
    unsigned = PushWorker(services.database, sms.worker.pushers, sms.worker.settings, name="u")
    report = await unsigned.run_once()
    assert (report.sent, report.failed) == (0, 1)
    assert len(sms.api.tried) == tried  # never a link to nowhere: "/r/…" is not sent
    push = await the_push(services)
    assert push.status == PushStatus.PENDING  # a restart with the setting sends it
    assert push.last_error is not None
    assert "callbacks.link.base_url" in push.last_error
    assert "push.config_error" in caplog.text
    await make_due(services)
    assert await sms.send() == 1
    assert link_path(sms.received()) == f"/r/{await expected_token(services, number)}"


async def test_an_expired_question_sent_late_carries_a_link_that_is_gone(
    client: Client, services: Services, staff: dict[str, Headers], app_headers: Headers,
    asker: CallbackWorker, sms: Sms,
) -> None:  # fmt: skip
    number = await resolved_letter(client, staff, app_headers, sms)
    assert (await asker.run_once()).asked == 1
    callback = await the_callback(services, number)
    assert callback.expires_at is not None
    past = utcnow() - timedelta(minutes=1)
    async with services.database.session() as session:  # sent after its time (a long outage)
        await session.execute(
            update(Message)
            .where(Message.author == wording.QUESTION_AUTHOR)
            .values(meta=rating_links.reference(callback.id or 0, past))
        )
    assert await sms.send() == 1
    gone = await client.get(link_path(sms.received()))
    assert gone.status == 410
    assert wording.LINK_EXPIRED in await gone.text()
    assert (await the_callback(services, number)).status == "awaiting"
