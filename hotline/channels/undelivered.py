"""Messages that did not reach the citizen, sent again by staff.

Supervisors and agents read the push outbox (:mod:`hotline.web.pushes_api`). A **dead** row
(refused for good, or given up after ``max_attempts``) or an **expired** one (held past the
maximum hold, :mod:`hotline.channels.held`) can be sent again: it is pending again, its attempts
counted from zero and due at once, for the push worker's next round. Who sent it again is kept
on the row and, for a ticket's message, in the ticket's history, as a dispatch retry is.

Refused (409), and nothing changes:

* a row in another state: a pending or failed one is still being tried, a sent one arrived, a
  held one waits for the citizen's next message by design;
* a satisfaction-callback question: the callback worker asks again on its next route, or staff
  record a callback made by hand (人工回访); sent again, it would ask about a callback that has
  moved on;
* an expired message already written again another way (a resolution by SMS instead of
  WeChat): the citizen has it, or that copy is the row to send again. Sent again, the original
  could be held, expire once more and be written another way a second time.

A WeChat row sent again while the citizen's window is still closed is held again, for the
maximum hold counted from the retry (:meth:`HoldPolicy.held_until`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.callbacks.wording import QUESTION_AUTHOR
from hotline.channels.held import _name as channel_name
from hotline.errors import Conflict, NotFound
from hotline.nlu.masking import mask_personal_data
from hotline.storage.models import CitizenPush, Message, PushStatus, Ticket
from hotline.storage.repos import pushes
from hotline.storage.repos import tickets as ticket_repo
from hotline.storage.types import utcnow

log = logging.getLogger(__name__)

RETRYABLE = (PushStatus.DEAD, PushStatus.EXPIRED)
#: the previous status as the ticket's history says it
_BEFORE = {PushStatus.DEAD: "发送失败", PushStatus.EXPIRED: "等待市民留言超时未发送"}


@dataclass(frozen=True)
class Retried:
    push: CitizenPush
    message: Message
    #: the number of the ticket the message is about, if any
    ticket: str | None


async def retry(session: AsyncSession, *, push_id: int, actor: str) -> Retried:
    """Send the dead or expired row ``push_id`` again, in ``actor``'s name."""
    push, message = await _retryable(session, push_id)
    ticket = await session.get(Ticket, message.ticket_id) if message.ticket_id else None
    if ticket is not None:
        await _record(session, ticket, push, message, actor)
    previous, now = push.status, utcnow()
    push.status, push.attempts, push.next_attempt_at = PushStatus.PENDING, 0, now
    push.locked_by = push.locked_until = push.held_until = None
    push.retried_by, push.retried_at = actor, now
    session.add(push)
    await session.flush()
    log.info("push.retried push=%s channel=%s was=%s by=%s", push_id, push.channel, previous, actor)
    return Retried(push, message, ticket.number if ticket else None)


async def _retryable(session: AsyncSession, push_id: int) -> tuple[CitizenPush, Message]:
    """The row (locked on PostgreSQL) and its message, or the error that says why not."""
    push = await session.get(CitizenPush, push_id, with_for_update=True)
    if push is None:
        raise NotFound(f"push {push_id} does not exist")
    if push.status not in RETRYABLE:
        raise Conflict(_not_retryable(push))
    message = await session.get(Message, push.message_id)
    if message is None:
        raise NotFound(f"the message of push {push_id} does not exist")
    if message.author == QUESTION_AUTHOR:
        raise Conflict(
            f"push {push_id} is a satisfaction-callback question: the callback worker asks "
            "again on its own; record a callback made by hand instead "
            "(POST /api/v1/staff/tickets/{number}/callback)"
        )
    if (copy := (await pushes.copies(session, pushes=[push])).get(push_id)) is not None:
        raise Conflict(
            f"push {push_id} expired and its message was sent another way instead (push "
            f"{copy.id} by {copy.channel}, {pushes.state_of(copy)}): send that one again if it "
            "did not reach the citizen, or write to the citizen anew"
        )
    return push, message


def _not_retryable(push: CitizenPush) -> str:
    state = pushes.state_of(push)
    if push.status == PushStatus.SENT:
        sent = push.sent_at.isoformat() if push.sent_at else "an unrecorded time"
        return f"push {push.id} was sent at {sent}; only dead or expired ones are sent again"
    if push.status == PushStatus.HELD:
        until = push.held_until.isoformat() if push.held_until else "its expiry"
        return (
            f"push {push.id} is held for the citizen's next message on {push.channel} (until "
            f"{until}), by design; only dead or expired ones are sent again"
        )
    return (
        f"push {push.id} is {state} and still being tried ({push.attempts} attempts so far); "
        "only dead or expired ones are sent again"
    )


async def _record(
    session: AsyncSession, ticket: Ticket, push: CitizenPush, message: Message, actor: str
) -> None:
    """The ticket's history keeps what was tried before: the row's counter starts over."""
    last = mask_personal_data(push.last_error) if push.last_error else "（未记录）"
    await ticket_repo.record(
        session, ticket=ticket, actor=actor, action="push_retried",
        from_value=push.status, to_value=str(push.id),
        note=f"经{channel_name(push)}发给市民的消息重新发送（此前{_BEFORE[push.status]}，"
        f"已尝试{push.attempts}次，最后一次：{last}）：{message.text[:60]}",
    )  # fmt: skip
