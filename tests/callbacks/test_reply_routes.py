"""Where a ticket is answered: at the phone and e-mail address given with the request, else at
the citizen's own, also when another citizen owns the given address (a relative writing on
someone's behalf), without ever joining the two citizens."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.callbacks import plan
from hotline.callbacks.settings import CallbackSettings
from hotline.channels import held
from hotline.channels.held import HoldPolicy
from hotline.intake import records
from hotline.intake.messages import InboundMessage
from hotline.intake.ticket_actions import RESULT_NOTICE
from hotline.storage.db import Database
from hotline.storage.models import (
    Citizen,
    CitizenPush,
    ContactKind,
    ContactPoint,
    Conversation,
    Direction,
    Message,
    PushStatus,
    Ticket,
)
from hotline.storage.repos import citizens, conversations, pushes
from hotline.storage.repos import tickets as ticket_repo
from hotline.storage.types import utcnow

#: the mother's address, which she used herself first; her son gives it on his letter
OWNER = "mother@example.com"
SON_PHONE, SON_EMAIL = "+8613900139000", "son@example.com"  # phones are stored as E.164
REACH = plan.Reach(message_channels=frozenset({"email"}), sms=True)
MAIL = {"method": "message", "channel": "email", "address": OWNER}


async def family(session: AsyncSession) -> tuple[Citizen, Citizen]:
    """The mother, who owns ``OWNER``, and her son, who wrote with his phone and his own mail."""
    mother = await citizens.identify(session, kind=ContactKind.EMAIL, value=OWNER)
    son = await citizens.identify(session, kind=ContactKind.PHONE, value=SON_PHONE)
    son_id = son.id or 0
    assert not await citizens.add_contact(
        session, citizen_id=son_id, kind=ContactKind.EMAIL, value=OWNER
    )
    assert await citizens.add_contact(
        session, citizen_id=son_id, kind=ContactKind.EMAIL, value=SON_EMAIL
    )
    return mother, son


async def new_ticket(
    session: AsyncSession,
    citizen: Citizen,
    *,
    conversation: Conversation | None = None,
    **given: str,
) -> Ticket:
    number = await ticket_repo.next_number(
        session, now=utcnow(), timezone="Asia/Shanghai", digits=5
    )
    ticket = Ticket(
        number=number,
        citizen_id=citizen.id or 0,
        conversation_id=conversation.id if conversation else None,
        channel=conversation.channel if conversation else "letter",
        title="楼道灯不亮",
        description="三单元楼道灯坏了一个月",
        **given,
    )
    return await ticket_repo.add(session, ticket, actor="citizen")


async def test_routes_prefer_the_address_given_with_the_request(database: Database) -> None:
    async with database.session() as session:
        mother, son = await family(session)
        for_her = await new_ticket(
            session, son, contact_email=OWNER, contact_phone="+8613700137000"
        )
        his_own = await new_ticket(session, son)
        settings = CallbackSettings()
        assert await plan.routes_for(session, for_her, REACH, settings) == [
            {"method": "message", "channel": "sms", "address": "+8613700137000"},
            MAIL,
        ]
        # nothing given with the request: the citizen's own contact points, as before
        assert await plan.routes_for(session, his_own, REACH, settings) == [
            {"method": "message", "channel": "sms", "address": SON_PHONE},
            {"method": "message", "channel": "email", "address": SON_EMAIL},
        ]
        owners = await session.execute(
            select(ContactPoint.citizen_id).where(ContactPoint.value == OWNER)
        )
        assert list(owners.scalars()) == [mother.id]  # the address stays hers alone


async def test_a_question_at_an_address_another_citizen_owns_opens_a_thread_of_its_own(
    database: Database,
) -> None:
    window = timedelta(hours=48)
    async with database.session() as session:
        mother, son = await family(session)
        hers = await conversations.start(
            session, citizen_id=mother.id or 0, channel="email", address=OWNER
        )
        her_ticket = await new_ticket(session, mother, conversation=hers)
        for_her = await new_ticket(session, son, contact_email=OWNER)
        opened = await plan.conversation_on(session, for_her, MAIL, idle_after=window)
        assert opened != hers.id
        thread = await conversations.get(session, conversation_id=opened)
        assert (thread.citizen_id, thread.channel, thread.address) == (son.id, "email", OWNER)
        # asked again within the window: the same thread; her own ticket: her own thread
        assert await plan.conversation_on(session, for_her, MAIL, idle_after=window) == opened
        assert await plan.conversation_on(session, her_ticket, MAIL, idle_after=window) == hers.id


async def test_a_held_result_is_mailed_to_the_address_given_with_the_request(
    database: Database,
) -> None:
    async with database.session() as session:
        _, son = await family(session)
        chat = await conversations.start(
            session, citizen_id=son.id or 0, channel="wechat", address="o-son"
        )
        ticket = await new_ticket(session, son, conversation=chat, contact_email=OWNER)
        result = await conversations.add_message(
            session, conversation=chat, direction=Direction.OUTBOUND, author="agent:cg",
            text=f"【工单 {ticket.number} 办理结果】楼道灯已更换", ticket_id=ticket.id,
        )  # fmt: skip
        result.meta = {"notice": RESULT_NOTICE}
        await pushes.enqueue(session, message=result, conversation=chat)
        await session.execute(
            update(CitizenPush).values(
                status=PushStatus.HELD, held_until=utcnow() - timedelta(minutes=1)
            )
        )
    async with database.session() as session:
        done = await held.expire(
            session,
            policy=HoldPolicy(),
            channels=frozenset({"wechat", "email"}),
            now=utcnow(),
            limit=10,
        )
    assert done == (1, 1)
    async with database.read() as session:
        rows = (await session.execute(select(CitizenPush).order_by(col(CitizenPush.id)))).all()
        [(expired,), (mailed,)] = rows
        again = await session.get(Message, mailed.message_id)
        assert again is not None
        thread = await conversations.get(session, conversation_id=again.conversation_id)
        events = await ticket_repo.history(session, ticket_id=ticket.id or 0)
    assert (expired.channel, expired.status) == ("wechat", PushStatus.EXPIRED)
    assert (mailed.channel, mailed.address, mailed.status) == ("email", OWNER, PushStatus.PENDING)
    assert again.text == result.text
    assert thread.citizen_id == son.id  # written in his thread, not in his mother's
    rerouted = events[-1]
    assert (rerouted.action, rerouted.to_value) == ("result_rerouted", "email")
    assert OWNER not in (rerouted.note or "")


async def test_the_owners_own_messages_never_go_into_a_thread_about_someone_elses_ticket(
    database: Database,
) -> None:
    """The son gave his mother's mobile: the callback's SMS thread is his; her SMS (from the
    number as Twilio gives it) goes on in a conversation of her own."""
    mobile = "+8613700137000"
    window = timedelta(hours=48)
    async with database.session() as session:
        mother = await citizens.identify(session, kind=ContactKind.PHONE, value=mobile)
        son = await citizens.identify(session, kind=ContactKind.WECHAT, value="o-son")
        for_her = await new_ticket(session, son, contact_phone=mobile)
        [sms] = await plan.routes_for(
            session, for_her, plan.Reach(message_channels=frozenset(), sms=True), CallbackSettings()
        )
        asked = await plan.conversation_on(session, for_her, sms, idle_after=window)
        message = InboundMessage("sms", mobile, "SM1", "1")
        writer = await records.identify(session, message)
        hers = await records.conversation_for(session, writer, message, idle_after=window)
    assert sms["address"] == mobile
    assert writer.id == mother.id
    assert hers.id != asked
    assert hers.citizen_id == mother.id
