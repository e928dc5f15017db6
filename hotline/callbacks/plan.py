"""Planning a callback when a ticket is resolved: whom to ask, by which routes, and when.

Each citizen who reported the matter (the ticket's own citizen and every citizen whose report
was merged into it) gets one callback row for this resolution. Its routes are the ways this
installation can reach that citizen, in the order a hotline would try them: a caller is called
back (keypad rating) before being sent an SMS; a citizen who wrote on a channel that reaches
them (WeChat, Telegram, the app, SMS, e-mail) is asked there first. Last comes an e-mail
address, when the e-mail channel runs: the question opens a mail thread whose answer the
mailbox intake reads.

The phone and the e-mail address are the ones given with the request (a letter's, an Open311
form's), else the citizen's own (:func:`hotline.storage.repos.citizens.reply_contact`): a
relative who writes for someone gives an address another citizen may own, and is answered
there all the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from hotline.callbacks.settings import CallbackSettings
from hotline.intake import duplicates
from hotline.intake.records import CHANNEL_CONTACT_KINDS
from hotline.nlu.masking import mask_phone
from hotline.phones import is_mobile
from hotline.storage.models import (
    CallbackStatus,
    ContactKind,
    Conversation,
    SatisfactionCallback,
    Ticket,
)
from hotline.storage.repos import citizens, conversations
from hotline.storage.repos import tickets as ticket_repo
from hotline.storage.types import utcnow

CALL, MESSAGE = "call", "message"
MAIL_CHANNEL = "email"
#: conversations on these channels are calls: a callback there is a call or an SMS
VOICE_CHANNELS = frozenset({"phone"})
NO_ROUTE = "无法自动回访：没有可用的联系方式（无电话，原渠道也无法主动发送消息），请人工回访"


@dataclass(frozen=True)
class Reach:
    """What this installation can use to ask citizens."""

    #: channels whose later messages reach the citizen (pushed, or read in the app)
    message_channels: frozenset[str] = frozenset({"app"})
    #: SMS can be sent (to any mobile number)
    sms: bool = False
    #: outbound calls with a keypad rating can be placed
    calls: bool = False


async def routes_for(
    session: AsyncSession, ticket: Ticket, reach: Reach, settings: CallbackSettings
) -> list[dict[str, Any]]:
    """The ways to ask the citizen of ``ticket``, first choice first, without repeats."""
    conversation = (
        await session.get(Conversation, ticket.conversation_id) if ticket.conversation_id else None
    )
    # stored as E.164 (hotline.phones): dialled as it is
    dialable = await citizens.reply_contact(session, ticket=ticket, kind=ContactKind.PHONE)
    chat = None
    if conversation is not None and conversation.channel in reach.message_channels:
        chat = {
            "method": MESSAGE,
            "channel": conversation.channel,
            "address": conversation.address,
            "conversation_id": conversation.id,
        }
    call = {"method": CALL, "channel": "phone", "address": dialable} if dialable else None
    mail = await _mail(session, ticket, reach)
    sms = {"method": MESSAGE, "channel": "sms", "address": dialable} if dialable else None
    calls_first = conversation is not None and conversation.channel in VOICE_CHANNELS
    mobile = dialable is not None and is_mobile(dialable, settings.country_code)
    candidates = [
        call if reach.calls and calls_first else None,
        None if calls_first else chat,
        call if reach.calls and not calls_first else None,
        sms if reach.sms and mobile else None,
        mail,
    ]
    routes: list[dict[str, Any]] = []
    for route in candidates:
        if route is not None and not any(_same(route, r) for r in routes):
            routes.append(route)
    return routes


async def _mail(session: AsyncSession, ticket: Ticket, reach: Reach) -> dict[str, Any] | None:
    """The e-mail address to ask at, when the e-mail channel sends and reads mail."""
    if MAIL_CHANNEL not in reach.message_channels:
        return None
    address = await citizens.reply_contact(session, ticket=ticket, kind=ContactKind.EMAIL)
    return {"method": MESSAGE, "channel": MAIL_CHANNEL, "address": address} if address else None


async def conversation_on(
    session: AsyncSession, ticket: Ticket, route: dict[str, Any], *, idle_after: timedelta
) -> str:
    """The conversation a message ``route`` writes into: the citizen's own chat, their thread
    on the route's channel (an SMS thread) active within ``idle_after``, or a new one.

    Never another citizen's conversation at that address (the request gave an address someone
    else owns): what is written about this ticket stays out of their thread, and an answer
    to it finds this ticket, not theirs.
    """
    if route.get("conversation_id"):
        return str(route["conversation_id"])
    channel, address = route["channel"], route["address"]
    found = await conversations.current(
        session,
        channel=channel,
        address=address,
        idle_after=idle_after,
        citizen_id=ticket.citizen_id,
    )
    if found is not None:
        return found.id
    kind = CHANNEL_CONTACT_KINDS[channel]
    await citizens.add_contact(session, citizen_id=ticket.citizen_id, kind=kind, value=address)
    started = await conversations.start(
        session, citizen_id=ticket.citizen_id, channel=channel, address=address
    )
    return started.id


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return (a["method"], a["channel"], a["address"]) == (b["method"], b["channel"], b["address"])


async def schedule(
    session: AsyncSession,
    handled: Ticket,
    *,
    reach: Reach,
    settings: CallbackSettings,
    now: datetime | None = None,
) -> list[SatisfactionCallback]:
    """One callback per citizen who reported ``handled`` (just resolved), due after the delay."""
    now = now or utcnow()
    due = settings.next_window(now + settings.delay)
    planned = []
    for ticket in [handled, *await duplicates.merged_reports(session, handled)]:
        routes = await routes_for(session, ticket, reach, settings)
        callback = SatisfactionCallback(
            ticket_id=_id(ticket),
            handled_ticket_id=_id(handled),
            round=await _next_round(session, ticket),
            unit_id=handled.unit_id,
            routes=routes,
            status=CallbackStatus.SCHEDULED if routes else CallbackStatus.UNREACHED,
            next_attempt_at=due,
            last_error=None if routes else NO_ROUTE,
        )
        session.add(callback)
        await ticket_repo.record(
            session,
            ticket=ticket,
            actor="system",
            action="callback_scheduled" if routes else "callback_unreached",
            to_value=due.isoformat() if routes else None,
            note=f"回访：{describe(routes)}" if routes else NO_ROUTE,
        )
        planned.append(callback)
    await session.flush()
    return planned


def describe(routes: list[dict[str, Any]]) -> str:
    """The routes as agents read them, phone numbers masked."""
    return " → ".join(_describe(route) for route in routes)


_CHANNEL_NAMES = {
    "sms": "短信", "wechat": "微信", "telegram": "Telegram", "app": "App", "email": "邮件",
}  # fmt: skip


def _describe(route: dict[str, Any]) -> str:
    channel = route["channel"]
    if route["method"] == CALL:
        return f"外呼按键评价（{mask_phone(route['address'])}）"
    name = _CHANNEL_NAMES.get(channel, f"{channel}消息")
    return f"{name}（{mask_phone(route['address'])}）" if channel == "sms" else name


async def _next_round(session: AsyncSession, ticket: Ticket) -> int:
    statement = select(func.count()).where(SatisfactionCallback.ticket_id == ticket.id)
    return int((await session.execute(statement)).scalar_one()) + 1


def _id(ticket: Ticket) -> int:
    if ticket.id is None:
        raise RuntimeError("ticket has no id")
    return ticket.id
