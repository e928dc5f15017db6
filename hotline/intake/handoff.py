"""Handing a conversation to a human agent (转人工) and back.

A citizen who asks for a person ("转人工", "人工客服") joins the live queue: the conversation
waits (``waiting_agent``) until an agent takes it (``with_agent``). While it waits or an agent
holds it, the bot stays quiet: the citizen's messages are stored and shown on the agent's desk,
only an emergency is still referred at once. The agent writes through the usual replies, can
file the ticket for the citizen from a short form, and releases the conversation back to the
bot. On the phone the caller is put in the telephony provider's queue and bridged to the
agent's softphone when the agent takes the call (:class:`CallBridge`).

A conversation leaves the queue in one conditional update (:func:`_leave_queue`): an agent's
take, the wait limit (:func:`time_out`) and a caller hanging up race for it, exactly one wins
and the others see that they lost and change nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import case, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, or_, select

from hotline.errors import Conflict, NotFound
from hotline.storage.models import Conversation, ConversationState, Direction, Message
from hotline.storage.repos import conversations
from hotline.storage.types import utcnow

WAITING, WITH_AGENT = ConversationState.WAITING_AGENT, ConversationState.WITH_AGENT
LIVE = (WAITING, WITH_AGENT)
HANDOFF = "正在为您转接人工服务，请稍候。您可以先把情况说明一下，接线员接入后会看到。"
HANDOFF_SPOKEN = "正在为您转接人工服务，请稍候。"
HANDOFF_CANCELLED = "好的，已取消转人工。您可以继续直接描述您的诉求。"
#: the wait limit passed without an agent: the citizen is back with the bot (:func:`time_out`)
NO_AGENT = (
    "抱歉，目前暂无空闲的接线员。您可以直接描述您的诉求，我们会为您登记工单并转交办理；"
    "也可以稍后再发送“转人工”。"
)
NO_AGENT_SPOKEN = "抱歉，目前暂无空闲的接线员。请在提示音后说出您的诉求，我们会为您登记。"
#: who wrote the wait limit's line in the conversation's transcript (:func:`wait_ran_out`)
WAIT_LIMIT_AUTHOR = "system:wait_limit"
TAKEN = "您好，我是12345热线接线员{name}，很高兴为您服务。"
RELEASED = "本次人工服务已结束，感谢您的来电来信。如有其他问题，可随时再联系我们。"


class BridgeFailed(Exception):
    """The telephony provider did not bridge the call."""


class CallBridge(Protocol):
    async def connect(self, call_id: str, *, agent: str) -> None:
        """Bridge the caller waiting in the queue to ``agent``'s softphone, or raise
        :class:`BridgeFailed`."""
        ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class Taken:
    conversation: Conversation
    #: False when this agent already held it (a repeated take)
    changed: bool


#: channels whose citizen holds a line while waiting (a caller), served before written ones
HOLDING_CHANNELS = ("phone",)


async def live(
    session: AsyncSession, *, agent_id: int | None, limit: int = 100
) -> list[Conversation]:
    """Conversations waiting for an agent, then those ``agent_id`` holds.

    The queue is served in priority order: a conversation with an emergency first (it was
    referred, but a person must follow it up), then callers holding the line, then written
    conversations; within each, the longest wait first.
    """
    mine = (Conversation.state == WITH_AGENT) & (Conversation.agent_id == agent_id)
    emergency = case((col(Conversation.emergency).is_(None), 1), else_=0)
    holding = case((col(Conversation.channel).in_(HOLDING_CHANNELS), 0), else_=1)
    statement = (
        select(Conversation)
        .where(or_(Conversation.state == WAITING, mine))
        .order_by(col(Conversation.state).desc(), emergency, holding, col(Conversation.handoff_at))
        .limit(limit)
    )
    return list((await session.execute(statement)).scalars())


async def take(session: AsyncSession, conversation_id: str, *, agent_id: int) -> Taken:
    """接入: the agent takes a waiting conversation; another agent's is a :class:`Conflict`, and
    so is one whose wait ran out (it went back to the bot) or that the citizen left."""
    if await _leave_queue(session, conversation_id, WITH_AGENT, agent_id=agent_id):
        return Taken(
            await conversations.get(session, conversation_id=conversation_id), changed=True
        )
    conversation = await conversations.get(session, conversation_id=conversation_id)
    if conversation.state == WITH_AGENT and conversation.agent_id == agent_id:
        return Taken(conversation, changed=False)
    if conversation.state == WITH_AGENT:
        raise Conflict(f"conversation {conversation_id} is already held by another agent")
    line = await _wait_limit_line(session, conversation)
    why = f" any more: its wait ran out ({line.meta.get('note')})" if line else ""
    raise Conflict(f"conversation {conversation_id} is not waiting for an agent{why}")


async def release(
    session: AsyncSession, conversation_id: str, *, agent_id: int, any_agent: bool = False
) -> Conversation:
    """The conversation goes back to the bot; only its agent (or a supervisor) may."""
    conversation = await _locked(session, conversation_id)
    if conversation.state not in LIVE:
        raise Conflict(f"conversation {conversation_id} is not with an agent")
    if conversation.state == WITH_AGENT and conversation.agent_id != agent_id and not any_agent:
        raise Conflict(f"conversation {conversation_id} is held by another agent")
    conversation.state, conversation.agent_id, conversation.draft = ConversationState.IDLE, None, {}
    await conversations.save(session, conversation)
    return conversation


async def call_id(session: AsyncSession, conversation: Conversation) -> str | None:
    """The provider's id of the call behind a phone conversation (its turns are ``<id>:<n>``)."""
    statement = (
        select(Message.external_id)
        .where(Message.conversation_id == conversation.id)
        .where(Message.direction == Direction.INBOUND)
        .order_by(col(Message.id).desc())
        .limit(1)
    )
    external = (await session.execute(statement)).scalar_one_or_none()
    return external.split(":", 1)[0] if external else None


async def caller_left(session: AsyncSession, call_id: str) -> Conversation | None:
    """A caller who hung up (or was dropped) while waiting leaves the live queue."""
    conversation_id = await _of_call(session, call_id)
    if conversation_id is None:
        return None
    await _leave_queue(session, conversation_id, ConversationState.IDLE)
    return await conversations.get(session, conversation_id=conversation_id)


async def overdue(
    session: AsyncSession, *, asked_before: datetime, limit: int = 100
) -> list[Conversation]:
    """Written conversations waiting since before ``asked_before`` (callers are left to the
    telephony provider's queue, which has its own limit); :func:`time_out` each."""
    statement = (
        select(Conversation)
        .where(Conversation.state == WAITING)
        .where(col(Conversation.channel).not_in(HOLDING_CHANNELS))
        .where(col(Conversation.handoff_at) <= asked_before)
        .order_by(col(Conversation.handoff_at), col(Conversation.id))
        .limit(limit)
    )
    return list((await session.execute(statement)).scalars())


async def time_out(session: AsyncSession, conversation_id: str) -> Conversation | None:
    """The wait limit: a conversation still waiting goes back to the bot.

    As when the citizen cancels, the state is ``idle`` and the draft kept. None, and nothing
    changed, when it is not waiting any more: an agent took it, the citizen cancelled or left,
    or another worker timed it out first.
    """
    if not await _leave_queue(session, conversation_id, ConversationState.IDLE):
        return None
    return await conversations.get(session, conversation_id=conversation_id)


async def time_out_call(session: AsyncSession, call_id: str, *, waited: timedelta) -> bool:
    """A caller reached the queue's wait limit: whether they may leave the queue.

    False when an agent holds the call (its bridge is on the way). Otherwise the conversation
    goes back to the bot, once, with the spoken apology as its wait-limit line.
    """
    conversation_id = await _of_call(session, call_id)
    if conversation_id is None:
        return True
    conversation = await time_out(session, conversation_id)
    if conversation is None:
        held = await conversations.get(session, conversation_id=conversation_id)
        return held.state != WITH_AGENT
    line = await conversations.add_message(
        session,
        conversation=conversation,
        direction=Direction.OUTBOUND,
        text=NO_AGENT_SPOKEN,
        author=WAIT_LIMIT_AUTHOR,
    )
    line.meta = wait_ran_out(waited)
    session.add(line)
    return True


def wait_ran_out(waited: timedelta) -> dict[str, Any]:
    """The wait limit's line in the transcript (a message's ``meta``): why, and how long."""
    seconds = int(waited.total_seconds())
    took = f"{seconds // 60} 分钟" if seconds >= 60 else f"{seconds} 秒"
    return {
        "notice": "wait_limit",
        "waited_seconds": seconds,
        "note": f"等待人工超时 {took}，转回机器人",
    }


async def last_turn(session: AsyncSession, call_id: str) -> int:
    """The number of the caller's last speech turn in the call ``call_id`` (0: none)."""
    statement = (
        select(Message.external_id)
        .where(Message.channel == "phone")
        .where(col(Message.external_id).startswith(f"{call_id}:"))
    )
    turns = [e.rsplit(":", 1)[1] for e in (await session.execute(statement)).scalars() if e]
    return max((int(t) for t in turns if t.isascii() and t.isdigit()), default=0)


async def _locked(session: AsyncSession, conversation_id: str) -> Conversation:
    conversation = await session.get(Conversation, conversation_id, with_for_update=True)
    if conversation is None:
        raise NotFound(f"conversation {conversation_id} does not exist")
    return conversation


async def _leave_queue(
    session: AsyncSession,
    conversation_id: str,
    state: ConversationState,
    *,
    agent_id: int | None = None,
) -> bool:
    """Move the conversation to ``state`` only if it is still waiting; whether this did.

    One UPDATE decides, whatever each side read before: on PostgreSQL a second one waits for
    the first one's transaction and then finds the conversation no longer waiting.
    """
    statement = (
        update(Conversation)
        .where(col(Conversation.id) == conversation_id, col(Conversation.state) == WAITING)
        .values(state=state, agent_id=agent_id, updated_at=utcnow())
    )
    result = await session.execute(statement)
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def _of_call(session: AsyncSession, call_id: str) -> str | None:
    """The conversation of a call (its turns are stored as ``<call id>:<n>``)."""
    statement = (
        select(Message.conversation_id)
        .where(Message.channel == "phone")
        .where(col(Message.external_id).startswith(f"{call_id}:"))
        .limit(1)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def _wait_limit_line(session: AsyncSession, conversation: Conversation) -> Message | None:
    """The line the wait limit wrote since the citizen last asked for a person, if any."""
    statement = (
        select(Message)
        .where(Message.conversation_id == conversation.id)
        .where(Message.author == WAIT_LIMIT_AUTHOR)
        .order_by(col(Message.id).desc())
        .limit(1)
    )
    if conversation.handoff_at is not None:
        statement = statement.where(col(Message.created_at) >= conversation.handoff_at)
    return (await session.execute(statement)).scalars().first()


def entered(conversation: Conversation) -> None:
    """Mark the moment the citizen asked for a person (the queue's order)."""
    conversation.handoff_at = utcnow()
    conversation.agent_id = None
