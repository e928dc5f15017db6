"""Satisfaction callbacks in a chat: asked after 办结, answered in the conversation, acted on."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select

from hotline.callbacks import wording
from hotline.callbacks.worker import CallbackWorker
from hotline.services import Services
from hotline.storage.models import (
    CallbackStatus,
    CitizenPush,
    Dispatch,
    DispatchKind,
    Message,
    PushStatus,
    Rating,
    SatisfactionCallback,
    Ticket,
    TicketStatus,
)
from hotline.storage.repos import tickets as ticket_repo
from hotline.storage.types import utcnow
from tests.callbacks.conftest import Client, Headers, resolved_chat_ticket, say, worker_for
from tests.web.test_ticket_actions import act, history


async def callbacks_of(services: Services, number: str) -> list[SatisfactionCallback]:
    async with services.database.session() as session:
        ticket = await ticket_repo.by_number(session, number=number)
        found = await session.execute(
            select(SatisfactionCallback)
            .where(SatisfactionCallback.ticket_id == ticket.id)
            .order_by(col(SatisfactionCallback.round))
        )
        return list(found.scalars())


async def ticket_of(services: Services, number: str) -> Ticket:
    async with services.database.session() as session:
        return await ticket_repo.by_number(session, number=number)


async def conversation_texts(client: Client, app_headers: Headers, conversation: str) -> list[str]:
    response = await client.get(f"/api/v1/conversations/{conversation}", headers=app_headers)
    return [m["text"] for m in (await response.json())["messages"]]


async def asked(
    client: Client, staff: dict[str, Headers], app_headers: Headers, asker: CallbackWorker
) -> tuple[str, str]:
    number, conversation = await resolved_chat_ticket(client, staff, app_headers)
    report = await asker.run_once()
    assert report.asked == 1
    return number, conversation


async def test_resolution_plans_a_callback_in_the_citizens_chat(
    client: Client, services: Services, staff: dict[str, Headers], app_headers: Headers,
    asker: CallbackWorker,
) -> None:  # fmt: skip
    number, conversation = await resolved_chat_ticket(client, staff, app_headers)
    [planned] = await callbacks_of(services, number)
    assert planned.status == CallbackStatus.SCHEDULED
    assert planned.routes == [
        {"method": "message", "channel": "app", "address": "user-1",
         "conversation_id": conversation},
    ]  # fmt: skip
    report = await asker.run_once()
    assert (report.asked, report.called) == (1, 0)
    [waiting] = await callbacks_of(services, number)
    assert (waiting.status, waiting.attempts, waiting.channel) == ("awaiting", 1, "app")
    assert waiting.expires_at is not None
    assert waiting.expires_at > utcnow() + timedelta(hours=47)
    texts = await conversation_texts(client, app_headers, conversation)
    assert texts[-1] == wording.question(number)
    again = await asker.run_once()
    assert again.asked == 0  # asked once, not on every round


async def test_satisfied_closes_the_ticket_and_thanks_the_citizen(
    client: Client, services: Services, staff: dict[str, Headers], app_headers: Headers,
    asker: CallbackWorker,
) -> None:  # fmt: skip
    number, _ = await asked(client, staff, app_headers, asker)
    result = await say(client, app_headers, "1", "rate-1")
    assert [r["text"] for r in result["replies"]] == [
        wording.THANKS[Rating.SATISFIED].format(number=number)
    ]
    [done] = await callbacks_of(services, number)
    assert (done.status, done.rating, done.answered_via) == ("answered", "satisfied", "message:app")
    assert (await ticket_of(services, number)).status == TicketStatus.CLOSED
    actions = [e["action"] for e in await history(client, staff["boss"], number)]
    assert actions[-3:] == ["callback_asked", "callback_rated", "closed"]
    repeated = await say(client, app_headers, "1", "rate-1")  # the app retries the same message
    assert repeated["replies"] == result["replies"]
    later = await say(client, app_headers, "3", "rate-2")  # answered already: goes to the intake
    assert (await ticket_of(services, number)).status == TicketStatus.CLOSED
    assert all("重办" not in r["text"] for r in later["replies"])


async def test_unsatisfied_reopens_at_the_unit_with_a_new_deadline(
    client: Client, services: Services, staff: dict[str, Headers], app_headers: Headers,
    asker: CallbackWorker,
) -> None:  # fmt: skip
    number, _ = await asked(client, staff, app_headers, asker)
    before = utcnow()
    result = await say(client, app_headers, "不满意，烧烤摊晚上又出来了", "rate-1")
    [reply] = result["replies"]
    assert reply["text"].startswith(f"很抱歉没能让您满意。工单 {number} 已交")
    assert "重新办理（重办）" in reply["text"]
    assert wording.ASK_REASON not in reply["text"]
    ticket = await ticket_of(services, number)
    assert ticket.status == TicketStatus.DISPATCHED
    assert ticket.closed_at is None
    assert ticket.due_at is not None
    assert ticket.due_at > before
    [done] = await callbacks_of(services, number)
    assert (done.rating, done.reason) == ("unsatisfied", "烧烤摊晚上又出来了")
    events = await history(client, staff["boss"], number)
    reopened = next(e for e in events if e["action"] == "reopened")
    assert (reopened["actor"], reopened["from"], reopened["to"]) == (
        "citizen", "resolved", "dispatched",
    )  # fmt: skip
    assert "回访不满意" in reopened["note"]
    assert "烧烤摊晚上又出来了" in reopened["note"]
    async with services.database.session() as session:
        dispatches = (
            await session.execute(select(Dispatch).where(Dispatch.ticket_id == ticket.id))
        ).scalars()
        kinds = [d.kind for d in dispatches]
    assert kinds.count(DispatchKind.DISPATCHED) == 2  # the first dispatch, and the reopen
    # the unit takes it again, resolves it again: a second round of callbacks
    await act(client, staff["cg"], number, "accept", 200)
    await act(client, staff["cg"], number, "resolve", 200, reply="已联合执法，每晚巡查")
    rounds = await callbacks_of(services, number)
    assert [(c.round, c.status) for c in rounds] == [(1, "answered"), (2, "scheduled")]


async def test_a_bare_3_asks_for_the_reason_and_takes_the_next_message(
    client: Client, services: Services, staff: dict[str, Headers], app_headers: Headers,
    asker: CallbackWorker,
) -> None:  # fmt: skip
    number, _ = await asked(client, staff, app_headers, asker)
    result = await say(client, app_headers, "3", "rate-1")
    assert result["replies"][0]["text"].endswith(wording.ASK_REASON)
    reason = await say(client, app_headers, "油烟还是很大", "reason-1")
    assert [r["text"] for r in reason["replies"]] == [wording.REASON_NOTED]
    [done] = await callbacks_of(services, number)
    assert (done.reason, done.reason_until) == ("油烟还是很大", None)
    events = await history(client, staff["cg"], number)  # the unit reads why
    assert events[-1]["action"] == "callback_reason"
    assert events[-1]["note"] == f"回访不满意原因（工单 {number}）：油烟还是很大"
    after = await say(client, app_headers, "你好", "hello-1")  # the window is used up
    assert after["replies"][0]["text"] != wording.REASON_NOTED


async def test_an_emergency_is_referred_even_while_a_rating_is_awaited(
    client: Client, services: Services, staff: dict[str, Headers], app_headers: Headers,
    asker: CallbackWorker,
) -> None:  # fmt: skip
    number, _ = await asked(client, staff, app_headers, asker)
    result = await say(client, app_headers, "不满意，楼下着火了，浓烟很大", "fire-1")
    assert any(r.get("action") == "transfer:119" for r in result["replies"])
    [waiting] = await callbacks_of(services, number)
    assert waiting.status == CallbackStatus.AWAITING


@pytest.mark.parametrize("callback_overrides", [{"max_reopens": 0}])
async def test_past_the_reopen_limit_dissatisfaction_is_escalated(
    client: Client, services: Services, staff: dict[str, Headers], app_headers: Headers,
    asker: CallbackWorker,
) -> None:  # fmt: skip
    number, _ = await asked(client, staff, app_headers, asker)
    result = await say(client, app_headers, "不满意", "rate-1")
    assert result["replies"][0]["text"].startswith(wording.ESCALATED)
    ticket = await ticket_of(services, number)
    assert ticket.status == TicketStatus.RESOLVED  # not sent back to the unit
    events = await history(client, staff["boss"], number)
    disputed = next(e for e in events if e["action"] == "callback_disputed")
    assert disputed["from"] == "LJ-CG"
    assert "转督办" in disputed["note"]
    async with services.database.session() as session:
        escalations = (
            await session.execute(
                select(Dispatch)
                .where(Dispatch.ticket_id == ticket.id)
                .where(Dispatch.kind == DispatchKind.ESCALATED)
            )
        ).scalars()
        assert len(list(escalations)) >= 1


@pytest.mark.parametrize("callback_overrides", [{"max_attempts": 2}])
async def test_unanswered_questions_are_asked_again_then_left_to_agents(
    client: Client, services: Services, staff: dict[str, Headers], app_headers: Headers,
    asker: CallbackWorker,
) -> None:  # fmt: skip
    number, conversation = await asked(client, staff, app_headers, asker)
    later = utcnow() + timedelta(hours=49)  # past the answer window
    report = await asker.run_once(now=later)
    assert report.expired == 1
    report = await asker.run_once(now=later + timedelta(hours=3))  # past retry_after
    assert report.asked == 1
    texts = await conversation_texts(client, app_headers, conversation)
    assert texts.count(wording.question(number)) == 2
    report = await asker.run_once(now=later + timedelta(hours=60))
    assert report.expired == 1
    [gave_up] = await callbacks_of(services, number)
    assert (gave_up.status, gave_up.attempts) == ("unreached", 2)
    listed = await client.get("/api/v1/staff/callbacks?status=unreached", headers=staff["agent"])
    body = await listed.json()
    assert [i["ticket"] for i in body["items"]] == [number]
    events = await history(client, staff["boss"], number)
    assert events[-1]["action"] == "callback_unreached"
    # an agent calls by hand and records the answer
    response = await client.post(
        f"/api/v1/staff/tickets/{number}/callback",
        json={"rating": "basic"},
        headers=staff["agent"],
    )
    assert response.status == 201, await response.text()
    result = await response.json()
    assert (result["callback"]["answered_via"], result["closed"]) == ("agent:agent", True)


@pytest.mark.parametrize("callback_overrides", [{"first_hour": 9, "last_hour": 20}])
async def test_nobody_is_asked_at_night(
    client: Client, services: Services, staff: dict[str, Headers], app_headers: Headers,
    asker: CallbackWorker,
) -> None:  # fmt: skip
    await resolved_chat_ticket(client, staff, app_headers)
    night = datetime(2031, 3, 4, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai
    assert (await asker.run_once(now=night)).asked == 0
    morning = datetime(2031, 3, 5, 1, 30, tzinfo=UTC)  # 09:30
    assert (await asker.run_once(now=morning)).asked == 1


async def test_a_ticket_reopened_before_the_question_is_not_asked(
    client: Client, services: Services, staff: dict[str, Headers], app_headers: Headers,
    asker: CallbackWorker,
) -> None:  # fmt: skip
    number, conversation = await resolved_chat_ticket(client, staff, app_headers)
    await act(client, staff["boss"], number, "reroute", 200, unit_code="LJ-HB")
    report = await asker.run_once()
    assert (report.asked, report.cancelled) == (0, 1)
    [cancelled] = await callbacks_of(services, number)
    assert cancelled.status == CallbackStatus.CANCELLED
    texts = await conversation_texts(client, app_headers, conversation)
    assert wording.question(number) not in texts


async def test_two_workers_ask_each_citizen_once(
    client: Client, services: Services, staff: dict[str, Headers], app_headers: Headers
) -> None:
    number, conversation = await resolved_chat_ticket(client, staff, app_headers)
    first, second = worker_for(services, "w1"), worker_for(services, "w2")
    reports = await asyncio.gather(first.run_once(), second.run_once())
    assert sum(r.asked for r in reports) == 1
    texts = await conversation_texts(client, app_headers, conversation)
    assert texts.count(wording.question(number)) == 1


async def test_a_letter_without_a_way_to_reach_the_citizen_is_left_to_agents(
    client: Client, services: Services, staff: dict[str, Headers], app_headers: Headers,
    asker: CallbackWorker,
) -> None:  # fmt: skip
    from tests.web.test_ticket_actions import dispatched

    number = await dispatched(client, staff, app_headers)  # a letter: no SMS, no calls here
    await act(client, staff["cg"], number, "accept", 200)
    await act(client, staff["cg"], number, "resolve", 200, reply="路灯已修复")
    [planned] = await callbacks_of(services, number)
    assert (planned.status, planned.routes) == ("unreached", [])
    assert "请人工回访" in (planned.last_error or "")
    assert (await asker.run_once()).asked == 0


async def test_the_callback_loop_survives_a_database_that_is_down() -> None:
    from hotline.callbacks.settings import CallbackSettings
    from hotline.intake.outgoing import Outgoing
    from hotline.storage.db import Database

    down = Database("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    worker = CallbackWorker(
        down,
        CallbackSettings(),
        writer=Outgoing(push_channels=frozenset()),
        name="down",
        poll_seconds=0.05,
    )
    worker.start()
    await asyncio.sleep(0.3)
    assert worker._task is not None
    assert not worker._task.done()  # still looping, not crashed
    await worker.stop()
    await down.dispose()


async def test_the_embedded_worker_asks_without_being_driven(
    client: Client, services: Services, staff: dict[str, Headers], app_headers: Headers
) -> None:
    """On SQLite ``hotline serve`` runs the callbacks itself (``dispatch.embedded``)."""
    worker = worker_for(services)
    worker.poll_seconds = 0.05
    worker.start()
    try:
        number, conversation = await resolved_chat_ticket(client, staff, app_headers)
        for _ in range(100):
            if wording.question(number) in await conversation_texts(
                client, app_headers, conversation
            ):
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the running worker never asked")
    finally:
        await worker.stop()


async def test_a_bare_key_mid_conversation_is_left_to_the_conversation(
    client: Client, services: Services, staff: dict[str, Headers], app_headers: Headers,
    asker: CallbackWorker,
) -> None:  # fmt: skip
    await asked(client, staff, app_headers, asker)
    assert services.callbacks is not None
    async with services.database.session() as session:
        for state in ("answered", "choosing", "awaiting_place"):
            taken = await services.callbacks.capture(
                session, channel="app", address="user-1", text="1", state=state
            )
            assert taken is None, state  # "1" may mean 解决了 or pick a listed question there
        worded = await services.callbacks.capture(
            session, channel="app", address="user-1", text="基本满意", state="answered"
        )
        assert worded is not None  # words are unambiguous in any state


async def held_question(services: Services, number: str) -> CitizenPush:
    """The question's push, as WeChat leaves it when the citizen's reply window has closed."""
    async with services.database.session() as session:
        ticket = await ticket_repo.by_number(session, number=number)
        question = (
            (
                await session.execute(
                    select(Message)
                    .where(
                        Message.author == wording.QUESTION_AUTHOR, Message.ticket_id == ticket.id
                    )
                    .order_by(col(Message.id).desc())
                )
            )
            .scalars()
            .first()
        )
        assert question is not None
        assert question.id is not None
        push = CitizenPush(
            message_id=question.id, channel="wechat", address="o-x", status=PushStatus.HELD
        )
        session.add(push)
        await session.flush()
        return push


async def push_status(services: Services, push: CitizenPush) -> str:
    async with services.database.read() as session:
        found = await session.get(CitizenPush, push.id)
        assert found is not None
        return found.status


async def test_a_question_still_held_is_withdrawn_once_its_callback_moves_on(
    client: Client, services: Services, staff: dict[str, Headers], app_headers: Headers,
    asker: CallbackWorker,
) -> None:  # fmt: skip
    number, _ = await asked(client, staff, app_headers, asker)
    expired = await held_question(services, number)
    assert (await asker.run_once(now=utcnow() + timedelta(hours=49))).expired == 1
    assert await push_status(services, expired) == PushStatus.DEAD  # not delivered days late
    assert (await asker.run_once(now=utcnow() + timedelta(hours=52))).asked == 1
    answered = await held_question(services, number)
    await say(client, app_headers, "满意", "m90")
    [callback] = await callbacks_of(services, number)
    assert callback.status == CallbackStatus.ANSWERED
    assert await push_status(services, answered) == PushStatus.DEAD
