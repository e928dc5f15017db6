"""The push outbox's held rows: released only while in date, expired once, one notice claim."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import col, select

from hotline.storage.db import Database
from hotline.storage.models import Citizen, CitizenPush, Direction, HeldNotice, PushStatus
from hotline.storage.repos import conversations, pushes
from hotline.storage.repos.pushes import PushFilter, PushState
from hotline.storage.types import utcnow

WEEK = timedelta(days=7)


async def held(database: Database, address: str, *, age: timedelta = timedelta(0)) -> int:
    """A message held for ``address`` since it was written ``age`` ago, for at most a week."""
    async with database.session() as session:
        citizen = Citizen()
        session.add(citizen)
        await session.flush()
        assert citizen.id is not None
        conversation = await conversations.start(
            session, citizen_id=citizen.id, channel="wechat", address=address
        )
        message = await conversations.add_message(
            session, conversation=conversation, direction=Direction.OUTBOUND, text="t", author="bot"
        )
        assert message.id is not None
        written = utcnow() - age
        push = CitizenPush(
            message_id=message.id, channel="wechat", address=address, status=PushStatus.HELD,
            created_at=written, held_until=written + WEEK,
        )  # fmt: skip
        session.add(push)
        await session.flush()
        assert push.id is not None
        return push.id


async def statuses(database: Database) -> dict[int | None, str]:
    async with database.read() as session:
        return {p.id: p.status for p in (await session.execute(select(CitizenPush))).scalars()}


async def claim(database: Database, address: str, good_for: timedelta = WEEK) -> bool:
    async with database.session() as session:
        return await pushes.claim_notice(
            session, channel="wechat", address=address, good_for=good_for
        )


async def test_the_citizens_message_releases_only_what_is_still_in_date(
    database: Database,
) -> None:
    fresh = await held(database, "o-1", age=timedelta(days=6))
    stale = await held(database, "o-1", age=timedelta(days=8))
    async with database.session() as session:
        assert await pushes.release_held(session, channel="wechat", address="o-1") == 1
    # The sweep has not run yet: the stale one still waits for it, and is not due.
    assert await statuses(database) == {fresh: PushStatus.PENDING, stale: PushStatus.HELD}
    async with database.session() as session:
        ended = await pushes.expire_held(
            session, channels={"wechat"}, now=utcnow(), limit=10, why="out of date"
        )
    assert [(p.id, p.status, p.last_error) for p in ended] == [
        (stale, PushStatus.EXPIRED, "out of date")
    ]
    async with database.session() as session:
        again = await pushes.expire_held(
            session, channels={"wechat"}, now=utcnow(), limit=10, why="out of date"
        )
        other = await pushes.expire_held(
            session, channels={"telegram"}, now=utcnow() + WEEK, limit=10, why="x"
        )
    assert (again, other) == ([], [])
    assert await statuses(database) == {fresh: PushStatus.PENDING, stale: PushStatus.EXPIRED}


async def test_of_two_concurrent_claims_on_one_citizen_only_the_first_wins(
    database: Database,
) -> None:
    async with database.session() as first:
        assert await pushes.claim_notice(first, channel="wechat", address="o-2", good_for=WEEK)
        # A second worker's claim waits for the first transaction (PostgreSQL: the row's lock;
        # SQLite: the writer's turn) and then finds the citizen told.
        second = asyncio.create_task(claim(database, "o-2"))
        await asyncio.sleep(0.3)
        assert not second.done()
    assert await asyncio.wait_for(second, timeout=10) is False
    assert await claim(database, "o-3")  # another citizen is told on their own


async def test_a_notice_is_claimed_again_once_the_citizen_wrote_or_once_it_is_old(
    database: Database,
) -> None:
    assert await claim(database, "o-4")
    assert not await claim(database, "o-4")
    async with database.session() as session:
        await pushes.release_held(session, channel="wechat", address="o-4")
    assert await claim(database, "o-4")  # what is held next is news to them again
    assert await claim(database, "o-4", good_for=timedelta(0))  # the last notice is out of date
    async with database.read() as session:
        rows = list((await session.execute(select(HeldNotice))).scalars())
    assert [(r.channel, r.address) for r in rows] == [("wechat", "o-4")]


async def states(database: Database, state: PushState) -> list[int | None]:
    async with database.read() as session:
        rows, total = await pushes.search(session, where=PushFilter(state=state))
    assert total == len(rows)
    return [push.id for push, _, _ in rows]


async def test_a_row_released_from_its_hold_is_pending_not_failed(database: Database) -> None:
    """Released rows keep the hold's error with their attempts at zero; only a row whose last
    attempt failed counts as failed, in the list and in the counts alike."""
    released = await held(database, "o-5")
    retried = await held(database, "o-6")
    async with database.session() as session:
        await session.execute(
            update(CitizenPush).values(last_error="45015 reply window closed", attempts=1)
        )
        await pushes.release_held(session, channel="wechat", address="o-5")
        await pushes.release_held(session, channel="wechat", address="o-6")
        await session.execute(
            update(CitizenPush).where(col(CitizenPush.id) == retried).values(attempts=1)
        )
    assert await states(database, PushState.PENDING) == [released]
    assert await states(database, PushState.FAILED) == [retried]
    async with database.read() as session:
        counted = await pushes.counts(session, since=utcnow() - WEEK)
        found, _ = await pushes.search(session, where=PushFilter())
    assert {s: n for s, n in counted["wechat"].items() if n} == {
        PushState.PENDING: 1, PushState.FAILED: 1,
    }  # fmt: skip
    assert {p.id: pushes.state_of(p) for p, _, _ in found} == {
        released: PushState.PENDING, retried: PushState.FAILED,
    }  # fmt: skip


async def test_every_bulk_update_of_a_row_moves_its_updated_at(database: Database) -> None:
    stale = await held(database, "o-7", age=timedelta(days=8))
    async with database.session() as session:
        await session.execute(update(CitizenPush).values(updated_at=utcnow() - WEEK))
    async with database.session() as session:
        await pushes.expire_held(
            session, channels={"wechat"}, now=utcnow(), limit=10, why="out of date"
        )
    async with database.read() as session:
        row = await session.get(CitizenPush, stale)
    assert row is not None
    assert row.status == PushStatus.EXPIRED
    assert row.updated_at > utcnow() - timedelta(minutes=1)
