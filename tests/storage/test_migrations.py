import asyncio
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel, col, select

import hotline.storage.models  # noqa: F401
from hotline.errors import StorageUnavailable
from hotline.storage.db import Database
from hotline.storage.migrate import alembic_config, current_revision, head_revision, upgrade
from hotline.storage.models import (
    Citizen,
    CitizenPush,
    ContactPoint,
    Conversation,
    Direction,
    HeldNotice,
    Ticket,
    TicketEvent,
)
from hotline.storage.repos import conversations
from hotline.storage.repos import tickets as ticket_repo
from hotline.storage.types import UTCDateTime, utcnow


async def test_upgrade_is_idempotent_and_at_head(database: Database) -> None:
    await upgrade(database)
    assert await current_revision(database) == head_revision()


async def test_models_match_the_migrations(database: Database) -> None:
    def diff(connection: Any) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        return list(compare_metadata(context, SQLModel.metadata))

    async with database.engine.connect() as connection:
        differences = await connection.run_sync(diff)
    assert differences == []


async def _ticket(database: Database, *, own: bool = False) -> Ticket:
    async with database.session() as session:
        citizen = Citizen()
        session.add(citizen)
        await session.flush()
        number = await ticket_repo.next_number(
            session,
            now=utcnow(),
            timezone="Asia/Shanghai",
            digits=5,
            counters=database.counters if own else None,
        )
        ticket = Ticket(
            number=number, citizen_id=citizen.id or 0, channel="app", title="t", description="d"
        )
        return await ticket_repo.add(session, ticket, actor="citizen")


async def test_ticket_history_is_append_only(database: Database) -> None:
    ticket = await _ticket(database)
    async with database.session() as session:
        events = await ticket_repo.history(session, ticket_id=ticket.id or 0)
    assert [e.action for e in events] == ["created"]
    event_id = events[0].id

    async def rewrite() -> None:
        async with database.session() as session:
            event = await session.get(TicketEvent, event_id)
            assert event is not None
            event.note = "rewritten"
            session.add(event)

    async def delete() -> None:
        async with database.session() as session:
            await session.delete(await session.get(TicketEvent, event_id))

    with pytest.raises(Exception, match="append-only"):
        await rewrite()
    with pytest.raises(Exception, match="append-only"):
        await delete()
    async with database.session() as session:
        again = await ticket_repo.history(session, ticket_id=ticket.id or 0)
    assert again[0].note == events[0].note


async def test_ticket_numbers_are_unique_under_concurrency(database: Database) -> None:
    tickets = await asyncio.gather(*(_ticket(database) for _ in range(12)))
    numbers = sorted(t.number for t in tickets)
    assert len(set(numbers)) == 12
    day = utcnow().astimezone().strftime("%Y")
    assert all(n.startswith(day[:2]) and len(n) == 13 for n in numbers)
    assert [int(n[-5:]) for n in numbers] == list(range(1, 13))


async def test_numbers_taken_apart_from_the_intake_are_unique_and_never_wait_for_it(
    database: Database,
) -> None:
    if database.counters is None:
        pytest.skip("SQLite: the single writer takes numbers inside its own transaction")
    tickets = await asyncio.gather(*(_ticket(database, own=True) for _ in range(12)))
    assert sorted(int(t.number[-5:]) for t in tickets) == list(range(1, 13))
    async with database.session() as holding:
        first = await ticket_repo.next_number(
            holding, now=utcnow(), timezone="Asia/Shanghai", digits=5, counters=database.counters
        )
        # The first intake is still open; the next one gets its number at once.
        async with database.session() as other:
            second = await asyncio.wait_for(
                ticket_repo.next_number(
                    other, now=utcnow(), timezone="Asia/Shanghai", digits=5,
                    counters=database.counters,
                ),
                timeout=5,
            )  # fmt: skip
        assert int(second[-5:]) == int(first[-5:]) + 1
        await holding.rollback()
    # The rolled-back intake's number is not given again: numbers skip, never repeat.
    assert int((await _ticket(database, own=True)).number[-5:]) == int(second[-5:]) + 1


async def test_unreachable_database_raises_storage_unavailable() -> None:
    database = Database("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    with pytest.raises(StorageUnavailable):
        await database.ping()
    await database.dispose()


async def _migrate(database: Database, revision: str, *, down: bool = False) -> None:
    def run(connection: Any) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)

    async with database.engine.begin() as connection:
        await connection.run_sync(run)


#: contact_point before 0017 (no ``verified``)
OLD_CONTACTS = sa.table(
    "contact_point",
    *(sa.column(name) for name in ("citizen_id", "kind", "value")),
    sa.column("created_at", UTCDateTime()),
)


async def _old_contact(session: Any, citizen_id: int, kind: str, value: str) -> None:
    row = {"citizen_id": citizen_id, "kind": kind, "value": value, "created_at": utcnow()}
    await session.execute(OLD_CONTACTS.insert(), [row])


async def test_0011_gives_messages_held_before_it_a_deadline_and_their_citizens_a_notice(
    database: Database,
) -> None:
    pushes = sa.table(
        "citizen_push",
        *(sa.column(name) for name in ("id", "message_id", "channel", "address", "status")),
        sa.column("attempts"),
        *(sa.column(name, UTCDateTime()) for name in ("next_attempt_at", "created_at")),
    )
    now = utcnow()
    await _migrate(database, "0010", down=True)
    try:
        async with database.session() as session:
            citizen = Citizen()
            session.add(citizen)
            await session.flush()
            conversation = await conversations.start(
                session, citizen_id=citizen.id or 0, channel="wechat", address="o-1"
            )
            rows = []
            for n, (status, age) in enumerate([("held", 3), ("held", 1), ("sent", 9)], 1):
                message = await conversations.add_message(
                    session, conversation=conversation, direction=Direction.OUTBOUND,
                    text=str(n), author="bot",
                )  # fmt: skip
                written = now - timedelta(days=age)
                rows.append(
                    {"id": n, "message_id": message.id, "channel": "wechat", "address": "o-1",
                     "status": status, "attempts": 1, "next_attempt_at": written,
                     "created_at": written}
                )  # fmt: skip
            await session.execute(pushes.insert(), rows)  # the table as 0010 left it
    finally:
        await upgrade(database)
    async with database.read() as session:
        found = (await session.execute(select(CitizenPush).order_by(col(CitizenPush.id)))).all()
        told = (await session.execute(select(HeldNotice))).scalars().all()
    assert [p.held_until for (p,) in found] == [
        now - timedelta(days=3) + timedelta(days=7),
        now - timedelta(days=1) + timedelta(days=7),
        None,
    ]
    assert [(n.channel, n.address, n.told_at) for n in told] == [
        ("wechat", "o-1", now - timedelta(days=3))
    ]


async def test_0012_dates_the_last_change_of_rows_pushed_before_it(database: Database) -> None:
    pushes = sa.table(
        "citizen_push",
        *(sa.column(name) for name in ("id", "message_id", "channel", "address", "status")),
        sa.column("attempts"),
        *(sa.column(name, UTCDateTime()) for name in ("next_attempt_at", "created_at", "sent_at")),
    )
    now = utcnow()
    written, sent = now - timedelta(days=2), now - timedelta(days=1)
    await _migrate(database, "0011", down=True)
    try:
        async with database.session() as session:
            citizen = Citizen()
            session.add(citizen)
            await session.flush()
            conversation = await conversations.start(
                session, citizen_id=citizen.id or 0, channel="wechat", address="o-1"
            )
            rows = []
            for n, (status, sent_at) in enumerate([("sent", sent), ("dead", None)], 1):
                message = await conversations.add_message(
                    session, conversation=conversation, direction=Direction.OUTBOUND,
                    text=str(n), author="bot",
                )  # fmt: skip
                rows.append(
                    {"id": n, "message_id": message.id, "channel": "wechat", "address": "o-1",
                     "status": status, "attempts": 1, "next_attempt_at": written,
                     "created_at": written, "sent_at": sent_at}
                )  # fmt: skip
            await session.execute(pushes.insert(), rows)  # the table as 0011 left it
    finally:
        await upgrade(database)
    async with database.read() as session:
        found = (await session.execute(select(CitizenPush).order_by(col(CitizenPush.id)))).all()
    assert [(p.updated_at, p.retried_by, p.retried_at) for (p,) in found] == [
        (sent, None, None),
        (written, None, None),
    ]


async def test_0015_stores_phones_as_e164_and_gives_a_shared_number_to_the_proven_owner(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    await _migrate(database, "0013", down=True)
    try:
        async with database.session() as session:
            ids = {}
            for name in ("writer", "texter", "caller", "typist", "landline", "odd", "twice", "app"):
                citizen = Citizen(name=name)
                session.add(citizen)
                await session.flush()
                ids[name] = citizen.id or 0
            points = [  # in this order: the writer's typed number is older than the SMS one
                ("writer", "phone", "13800138000"), ("texter", "phone", "+8613800138000"),
                ("typist", "phone", "139-0013-9000"), ("caller", "app", "+8613900139000"),
                ("landline", "phone", "010-12345678"), ("odd", "phone", "12345"),
                ("twice", "phone", "13700137000"), ("twice", "phone", "+86 137 0013 7000"),
                ("app", "app", "+8613600136000"),  # an app user id that looks like a number
            ]  # fmt: skip
            for who, kind, value in points:  # the contact_point table is as 0013 left it
                await _old_contact(session, ids[who], kind, value)
            for who, channel, address in [
                ("texter", "sms", "+8613800138000"), ("caller", "phone", "+8613900139000"),
                ("writer", "letter", "13800138000"),
            ]:  # fmt: skip
                await conversations.start(
                    session, citizen_id=ids[who], channel=channel, address=address
                )
            numbers = {"writer": "138 0013 8000", "landline": "010-12345678", "odd": "12345"}
            for who, phone in numbers.items():
                number = await ticket_repo.next_number(
                    session, now=utcnow(), timezone="Asia/Shanghai", digits=5
                )
                session.add(
                    Ticket(
                        number=number, citizen_id=ids[who], channel="letter", title="t",
                        description="d", contact_phone=phone,
                    )
                )  # fmt: skip
    finally:
        with caplog.at_level("WARNING"):
            await upgrade(database)
    async with database.read() as session:
        found = (await session.execute(select(ContactPoint))).scalars().all()
        owned = {(p.kind, p.value): p.citizen_id for p in found}
        letters = (await session.execute(select(Ticket).order_by(col(Ticket.id)))).scalars()
        kept = [(t.citizen_id, t.contact_phone) for t in letters]
        threads = (await session.execute(select(Conversation))).scalars().all()
    assert owned == {
        ("phone", "+8613800138000"): ids["texter"],  # proven by SMS: outranks the older letter
        ("phone", "+8613900139000"): ids["caller"],  # a caller's id, now a phone contact point
        ("phone", "+861012345678"): ids["landline"],
        ("phone", "12345"): ids["odd"],  # no number: left as it was
        ("phone", "+8613700137000"): ids["twice"],  # one citizen's two forms: one point
        ("app", "+8613600136000"): ids["app"],
    }
    # nobody was merged: the writer keeps their ticket, its number the same as the texter's
    assert kept == [
        (ids["writer"], "+8613800138000"), (ids["landline"], "+861012345678"), (ids["odd"], "12345")
    ]  # fmt: skip
    assert {c.address for c in threads} == {"+8613800138000", "+8613900139000"}
    dropped = [
        r.getMessage() for r in caplog.records if "no longer a contact point" in r.getMessage()
    ]
    assert len(dropped) == 2
    assert f"citizen {ids['writer']} is no longer" in " ".join(dropped)
    assert "13800138000" not in " ".join(r.getMessage() for r in caplog.records)  # masked


async def _thread(
    session: Any, citizen_id: int, channel: str, address: str, *directions: Direction
) -> Conversation:
    conversation = await conversations.start(
        session, citizen_id=citizen_id, channel=channel, address=address
    )
    for direction in directions:
        await conversations.add_message(
            session, conversation=conversation, direction=direction, text="t", author="a"
        )
    return conversation


async def _ticket_in(session: Any, citizen_id: int, channel: str, conversation_id: str) -> None:
    number = await ticket_repo.next_number(
        session, now=utcnow(), timezone="Asia/Shanghai", digits=5
    )
    session.add(
        Ticket(
            number=number, citizen_id=citizen_id, channel=channel, title="t", description="d",
            conversation_id=conversation_id,
        )
    )  # fmt: skip
    await session.flush()


async def test_0017_verifies_the_contact_points_a_channel_proved(database: Database) -> None:
    inbound, outbound = Direction.INBOUND, Direction.OUTBOUND
    await _migrate(database, "0016", down=True)
    try:
        async with database.session() as session:
            ids = {}
            for name in ("caller", "texter", "chatter", "wx", "mailer", "writer", "other"):
                citizen = Citizen(name=name)
                session.add(citizen)
                await session.flush()
                ids[name] = citizen.id or 0
            points = [
                ("caller", "phone", "+8613800138000"), ("texter", "phone", "+8613900139000"),
                ("chatter", "phone", "+8613700137000"), ("chatter", "app", "user-1"),
                ("wx", "wechat", "o-1"), ("wx", "telegram", "42"),
                ("mailer", "email", "a@example.com"), ("writer", "email", "b@example.com"),
                ("writer", "phone", "+8613600136000"),
            ]  # fmt: skip
            for who, kind, value in points:  # the contact_point table is as 0016 left it
                await _old_contact(session, ids[who], kind, value)
            await _thread(session, ids["caller"], "phone", "+8613800138000", inbound, outbound)
            await _thread(session, ids["texter"], "sms", "+8613900139000", inbound)
            # the hotline texted the chatter's typed number a result: that proves nothing
            await _thread(session, ids["chatter"], "sms", "+8613700137000", outbound)
            await _thread(session, ids["chatter"], "app", "user-1", inbound)
            # someone else's call from the writer's typed number is no proof for the writer
            await _thread(session, ids["other"], "phone", "+8613600136000", inbound)
            mail = await _thread(session, ids["mailer"], "email", "a@example.com", inbound)
            await _ticket_in(session, ids["mailer"], "email", mail.id)
            # a letter answered by mail at the address written on it: a thread, no mail from it
            letter = await _thread(session, ids["writer"], "letter", "+8613600136000", inbound)
            await _ticket_in(session, ids["writer"], "letter", letter.id)
            await _thread(session, ids["writer"], "email", "b@example.com", outbound, inbound)
    finally:
        await upgrade(database)
    async with database.read() as session:
        found = (await session.execute(select(ContactPoint))).scalars().all()
    verified = {p.value for p in found if p.verified}
    assert verified == {"+8613800138000", "+8613900139000", "user-1", "o-1", "42", "a@example.com"}
    assert len(found) == 9  # nothing dropped, nothing moved
    assert {(p.value, p.citizen_id) for p in found} == {
        (value, ids[who]) for who, _, value in points
    }
