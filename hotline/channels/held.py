"""Held messages that waited too long: expired, and a resolution sent another way instead.

WeChat holds a message until the citizen writes again (:mod:`hotline.channels.push`). A citizen
who comes back a month later must not get, as news, what an agent wrote a month ago: a row still
held at its ``held_until`` (when it was written, or sent again by staff, plus
:attr:`HoldPolicy.max_hold`) is **expired** by the push worker and never delivered, and the
citizen's next message no longer releases it (:func:`hotline.storage.repos.pushes.release_held`).

A resolution (办结) still matters to the citizen. It is written again on the first way a
satisfaction callback would take to reach them other than the channel that held it: an SMS to
the ticket's phone, or mail to the e-mail address given with the request, else one the citizen
gave elsewhere (:func:`hotline.callbacks.plan.routes_for`). Every expired message of a ticket
leaves a line in the ticket's history, where agents read that the citizen was not told, and how
they were told instead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.callbacks import plan
from hotline.callbacks.settings import CallbackSettings
from hotline.intake.ticket_actions import RESULT_NOTICE
from hotline.storage.models import CitizenPush, Direction, Message, Ticket
from hotline.storage.repos import conversations, pushes
from hotline.storage.repos import tickets as ticket_repo

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HoldPolicy:
    #: a message held longer than this since it was written is out of date
    max_hold: timedelta = timedelta(days=7)
    #: how citizens are reached otherwise: the satisfaction callbacks' settings (the country
    #: whose mobiles take SMS, how long an SMS thread goes on)
    reach: CallbackSettings = field(default_factory=CallbackSettings)

    def held_until(self, push: CitizenPush) -> datetime:
        """Written (or sent again by staff) plus the maximum hold."""
        return (push.retried_at or push.created_at) + self.max_hold

    @property
    def days(self) -> str:
        return f"{self.max_hold / timedelta(days=1):g}"


async def expire(
    session: AsyncSession,
    *,
    policy: HoldPolicy,
    channels: frozenset[str],
    now: datetime,
    limit: int,
) -> tuple[int, int]:
    """Expire up to ``limit`` rows held too long on ``channels`` (those the caller pushes, which
    are also the other ways it may use); returns (expired, resolutions sent another way)."""
    why = f"held over {policy.days} days for the citizen's next message: out of date, not sent"
    ended = await pushes.expire_held(session, channels=channels, now=now, limit=limit, why=why)
    rerouted = 0
    for push in ended:
        rerouted += await _after_expiry(session, push, policy, channels)
    return len(ended), rerouted


async def _after_expiry(
    session: AsyncSession, push: CitizenPush, policy: HoldPolicy, channels: frozenset[str]
) -> bool:
    """Send an expired resolution another way; True when it was, else the ticket's history
    says the citizen was not told."""
    message = await session.get(Message, push.message_id)
    ticket_id = message.ticket_id if message is not None else None
    ticket = await session.get(Ticket, ticket_id) if ticket_id is not None else None
    if message is None or ticket is None:
        log.warning("push.held_expired push=%s channel=%s", push.id, push.channel)
        return False
    result = _is_result(message)
    route = await _other_route(session, ticket, push, policy, channels) if result else None
    if route is None:
        await _not_told(session, push, message, ticket, policy)
        log.warning(
            "push.held_expired push=%s channel=%s ticket=%s result=%s",
            push.id, push.channel, ticket.number, result,
        )  # fmt: skip
        return False
    await _write_again(session, message, ticket, route, push, policy)
    await ticket_repo.record(
        session, ticket=ticket, actor="system", action="result_rerouted",
        from_value=push.channel, to_value=route["channel"],
        note=f"办理结果在{_name(push)}等待市民留言超过{policy.days}天未能送达，"
        f"改经{plan.describe([route])}发送",
    )  # fmt: skip
    log.info(
        "push.result_rerouted push=%s ticket=%s channel=%s",
        push.id, ticket.number, route["channel"],
    )  # fmt: skip
    return True


async def _not_told(
    session: AsyncSession, push: CitizenPush, message: Message, ticket: Ticket, policy: HoldPolicy
) -> None:
    await ticket_repo.record(
        session, ticket=ticket, actor="system", action="notice_expired", to_value=push.channel,
        note=f"发给市民的消息在{_name(push)}等待市民留言超过{policy.days}天，已过时，未发送："
        f"{message.text[:60]}",
    )  # fmt: skip


def _name(push: CitizenPush) -> str:
    """The held channel as agents read it (微信)."""
    return plan.describe([{"method": plan.MESSAGE, "channel": push.channel, "address": ""}])


def _is_result(message: Message) -> bool:
    """A resolution, not already a copy sent another way (which is never sent a third way)."""
    return message.meta.get("notice") == RESULT_NOTICE and "instead_of" not in message.meta


async def _other_route(
    session: AsyncSession,
    ticket: Ticket,
    push: CitizenPush,
    policy: HoldPolicy,
    channels: frozenset[str],
) -> dict[str, Any] | None:
    """The first way a callback would write to the ticket's citizen, other than ``push``'s."""
    others = channels - {push.channel}
    reach = plan.Reach(message_channels=others, sms="sms" in others, calls=False)
    routes = await plan.routes_for(session, ticket, reach, policy.reach)
    return routes[0] if routes else None


async def _write_again(
    session: AsyncSession,
    message: Message,
    ticket: Ticket,
    route: dict[str, Any],
    push: CitizenPush,
    policy: HoldPolicy,
) -> None:
    conversation_id = await plan.conversation_on(
        session, ticket, route, idle_after=policy.reach.answer_window
    )
    conversation = await conversations.get(session, conversation_id=conversation_id)
    again = await conversations.add_message(
        session,
        conversation=conversation,
        direction=Direction.OUTBOUND,
        text=message.text,
        author=message.author,
        ticket_id=ticket.id,
    )
    again.meta = {"notice": RESULT_NOTICE, "instead_of": push.id}
    session.add(again)
    await pushes.enqueue(session, message=again, conversation=conversation)
