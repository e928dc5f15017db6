"""Two citizens who reported one matter answer its callbacks at the same moment.

bench/callbacks_load.py found, on PostgreSQL, a ticket reopened by a merged reporter's 不满意
and then closed by the original reporter's 满意 answered meanwhile: the ticket ended 已归档
while its unit had been sent it to redo. The second answer must act on the ticket as the first
one left it.
"""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from hotline.callbacks.answers import Outcome
from hotline.sample.loader import load_units
from hotline.services import Services, build_services
from hotline.storage.models import (
    Citizen,
    Conversation,
    Rating,
    SatisfactionCallback,
    Ticket,
    TicketEvent,
    TicketStatus,
    Unit,
)
from hotline.storage.repos import tickets as ticket_repo
from tests.callbacks.conftest import callback_config


@pytest.fixture
async def services(
    tmp_path: Path, database_url: str, analyzer: Any, encoder: Any
) -> AsyncIterator[Services]:
    built = build_services(
        callback_config(tmp_path, database_url), analyzer=analyzer, encoder=encoder
    )
    async with built.database.session() as session:
        await load_units(session, env={})
    yield built
    await built.database.dispose()


async def _reported_twice(services: Services) -> tuple[int, int, int]:
    """A resolved ticket and a second citizen's report merged into it, both asked:
    (the ticket's id, its citizen's callback, the merged reporter's callback)."""
    assert services.callbacks is not None
    async with services.database.session() as session:
        unit = (await session.execute(select(Unit).limit(1))).scalars().one()
        made = []
        for i, status in enumerate((TicketStatus.RESOLVED, TicketStatus.MERGED)):
            citizen = Citizen()
            session.add(citizen)
            await session.flush()
            assert citizen.id is not None
            conversation = Conversation(citizen_id=citizen.id, channel="app", address=f"u{i}")
            session.add(conversation)
            ticket = Ticket(
                number=f"2026120600{i:03d}", citizen_id=citizen.id,
                conversation_id=conversation.id, channel="app", title="路灯不亮",
                description="路灯坏了", status=status, unit_id=unit.id,
                duplicate_of_id=made[0].id if made else None,
            )  # fmt: skip
            await ticket_repo.add(session, ticket, actor="citizen")
            made.append(ticket)
        planned = await services.callbacks.schedule(session, made[0])
        assert made[0].id is not None
        assert planned[0].id is not None
        assert planned[1].id is not None
        return made[0].id, planned[0].id, planned[1].id


async def _rate(services: Services, callback_id: int, rating: Rating, hold: asyncio.Event) -> Any:
    """Answer in a transaction that commits once ``hold`` is set."""
    assert services.callbacks is not None
    async with services.database.session() as session:
        callback = await session.get(SatisfactionCallback, callback_id, with_for_update=True)
        assert callback is not None
        outcome = await services.callbacks.answering.rate(
            session, callback, rating=rating, reason=None, via="message:app"
        )
        await hold.wait()
    return outcome


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (Rating.UNSATISFIED, Rating.SATISFIED),
        (Rating.SATISFIED, Rating.UNSATISFIED),
        (Rating.UNSATISFIED, Rating.UNSATISFIED),
    ],
)
async def test_the_later_answer_sees_what_the_earlier_did_to_the_ticket(
    services: Services, first: Rating, second: Rating
) -> None:
    """The merged reporter answers ``first``; the original reporter answers ``second`` while
    that answer's transaction is still open. Whichever way round, 不满意 wins: the ticket is
    reopened once and not closed again."""
    ticket_id, own, merged = await _reported_twice(services)
    hold, now = asyncio.Event(), asyncio.Event()
    now.set()
    earlier = asyncio.create_task(_rate(services, merged, first, hold))
    await asyncio.sleep(0.5)  # the merged reporter's answer holds the ticket's lock
    later = asyncio.create_task(_rate(services, own, second, now))
    await asyncio.sleep(0.5)  # the original reporter's answer waits for that lock
    hold.set()
    outcomes: list[Outcome] = [await earlier, await later]
    async with services.database.read() as session:
        ticket = await session.get(Ticket, ticket_id)
        assert ticket is not None
        statement = (
            select(TicketEvent.action, func.count())
            .where(TicketEvent.ticket_id == ticket_id)
            .group_by(TicketEvent.action)
        )
        actions = dict((await session.execute(statement)).all())
    assert ticket.status == TicketStatus.DISPATCHED
    assert actions.get("reopened") == 1
    assert "closed" not in actions or first == Rating.SATISFIED  # closed, then reopened
    assert sum(o.reopened for o in outcomes) == 1
