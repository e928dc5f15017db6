"""The callbacks' entry points: scheduling at 办结, answers from every path, agents' results.

An answer arrives in one of five ways: a message the intake hands over (:meth:`capture`, in
the intake's transaction, so the rating and the reply commit together), a key pressed in an
outbound call (:meth:`press`), a reason spoken after 不满意 (:meth:`spoken_reason`), the
rating page a signed link in the SMS or mail question opens (:meth:`rate_by_link`), or an
agent who called the citizen by hand (:meth:`record_by_agent`). Each ends in
:meth:`Answering.rate <hotline.callbacks.answers.Answering.rate>`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.callbacks import plan, wording
from hotline.callbacks.answers import Answering, DeadlineSource, Outcome
from hotline.callbacks.links import LinkClaim, RatingLinks
from hotline.callbacks.plan import Reach
from hotline.callbacks.ratings import KEYS, read_answer
from hotline.callbacks.settings import CallbackSettings
from hotline.errors import Conflict, Gone, NotFound
from hotline.intake.messages import OutboundReply
from hotline.storage.db import Database
from hotline.storage.models import (
    CallbackStatus,
    ConversationState,
    Rating,
    SatisfactionCallback,
    Ticket,
)
from hotline.storage.types import utcnow

log = logging.getLogger(__name__)
#: a bare 1/2/3 answers the survey only where it cannot be a choice in a conversation
#: (after a knowledge answer "1" means 解决了; in a "did you mean" list it picks an entry)
_KEY_STATES = frozenset({ConversationState.IDLE})
OPEN = (CallbackStatus.SCHEDULED, CallbackStatus.AWAITING, CallbackStatus.UNREACHED)
ENDED = (CallbackStatus.UNREACHED, CallbackStatus.CANCELLED)


@dataclass(frozen=True)
class KeyOutcome:
    """What to say in the call after a key press."""

    text: str
    valid: bool = True
    ask_reason: bool = False


@dataclass(frozen=True)
class LinkQuestion:
    """What the rating page asks about: the citizen's own ticket."""

    number: str
    title: str


class Callbacks:
    def __init__(
        self,
        database: Database,
        settings: CallbackSettings,
        reach: Reach,
        *,
        deadlines: DeadlineSource | None = None,
        links: RatingLinks | None = None,
    ) -> None:
        self.database = database
        self.settings = settings
        self.reach = reach
        self.answering = Answering(settings, deadlines)
        #: signs the rating page's links in SMS and mail questions; None: no link is sent
        self.links = links

    async def schedule(self, session: AsyncSession, ticket: Ticket) -> list[SatisfactionCallback]:
        """Plan the callbacks of a ticket just resolved (in the resolution's transaction)."""
        return await plan.schedule(session, ticket, reach=self.reach, settings=self.settings)

    # -- the intake hands over messages from citizens with a question open -----------------

    async def capture(
        self, session: AsyncSession, *, channel: str, address: str, text: str, state: str
    ) -> OutboundReply | None:
        """The reply when ``text`` answers an open callback of this address, else None."""
        answer = read_answer(text, keys=state in _KEY_STATES)
        if answer is not None:
            callback = await self._open_for(session, channel, address)
            if callback is not None:
                outcome = await self.answering.rate(
                    session,
                    callback,
                    rating=answer.rating,
                    reason=answer.reason,
                    via=f"message:{channel}",
                )
                return OutboundReply(_with_reason_request(outcome))
        if state != ConversationState.IDLE:
            return None
        waiting = await self._reason_wanted(session, channel, address)
        if waiting is None:
            return None
        return OutboundReply(await self.answering.add_reason(session, waiting, text))

    async def _open_for(
        self, session: AsyncSession, channel: str, address: str
    ) -> SatisfactionCallback | None:
        """The question most recently asked at this address and still open."""
        cb = SatisfactionCallback
        awaiting = col(cb.status) == CallbackStatus.AWAITING
        return await _latest_at(session, channel, address, awaiting, col(cb.updated_at))

    async def _reason_wanted(
        self, session: AsyncSession, channel: str, address: str
    ) -> SatisfactionCallback | None:
        """The 不满意 answered here whose reason is still wanted."""
        cb = SatisfactionCallback
        wanted = (col(cb.status) == CallbackStatus.ANSWERED) & (col(cb.reason_until) > utcnow())
        return await _latest_at(session, channel, address, wanted, col(cb.answered_at))

    # -- outbound calls ----------------------------------------------------------------------

    async def call_question(self, callback_id: int) -> str | None:
        """What to say when the citizen picks up; None when nothing is to be asked any more."""
        async with self.database.read() as session:
            callback = await _get(session, callback_id)
            if callback.status != CallbackStatus.AWAITING or callback.method != plan.CALL:
                return None
            ticket = await session.get(Ticket, callback.ticket_id)
            return wording.spoken_question(ticket.number if ticket else "")

    async def press(self, callback_id: int, digits: str) -> KeyOutcome:
        """A key pressed in the call: 1 满意, 2 基本满意, 3 不满意."""
        rating = KEYS.get(digits.strip())
        async with self.database.session() as session:
            callback = await _get(session, callback_id, lock=True)
            if callback.status == CallbackStatus.ANSWERED and callback.rating is not None:
                number = (await _ticket(session, callback.ticket_id)).number
                return KeyOutcome(wording.already_rated(number, callback.rating))
            if callback.status != CallbackStatus.AWAITING:
                return KeyOutcome(wording.SPOKEN_GOODBYE)
            if rating is None:
                return KeyOutcome(wording.SPOKEN_AGAIN, valid=False)
            outcome = await self.answering.rate(
                session, callback, rating=rating, reason=None, via="keypad"
            )
        return KeyOutcome(outcome.text, ask_reason=outcome.ask_reason)

    async def spoken_reason(self, callback_id: int, text: str) -> str:
        async with self.database.session() as session:
            callback = await _get(session, callback_id, lock=True)
            if callback.reason_until is None or not text.strip():
                return wording.REASON_NOTED if callback.reason else wording.SPOKEN_GOODBYE
            return await self.answering.add_reason(session, callback, text.strip())

    async def call_ended(self, callback_id: int, status: str) -> None:
        """The telephony provider says the call is over; unanswered, it is tried again later."""
        async with self.database.session() as session:
            callback = await _get(session, callback_id, lock=True)
            if callback.status == CallbackStatus.AWAITING and callback.method == plan.CALL:
                why = "未接听" if status in ("no-answer", "busy") else f"通话结束未评价（{status}）"
                await self.answering.unanswered(session, callback, why=why)
                log.info("callbacks.call_unanswered callback=%s status=%s", callback_id, status)

    # -- the rating page (a signed link in an SMS or mail question) ---------------------------

    async def link_question(self, claim: LinkClaim) -> LinkQuestion:
        """The ticket a linked question is about; Gone unless that question still waits."""
        async with self.database.read() as session:
            callback = await _get(session, claim.callback_id)
            ticket = await _ticket(session, callback.ticket_id)
            _still_waiting(callback, claim, ticket.number)
            return LinkQuestion(ticket.number, ticket.title)

    async def rate_by_link(
        self, claim: LinkClaim, *, rating: Rating, reason: str | None
    ) -> Outcome:
        """The answer given on the rating page, acted on as if written in a message."""
        async with self.database.session() as session:
            callback = await _get(session, claim.callback_id, lock=True)
            _still_waiting(callback, claim, (await _ticket(session, callback.ticket_id)).number)
            outcome = await self.answering.rate(
                session, callback, rating=rating, reason=reason, via="link"
            )
        log.info("callbacks.rated_by_link callback=%s rating=%s", claim.callback_id, rating)
        return outcome

    # -- agents --------------------------------------------------------------------------------

    async def record_by_agent(
        self,
        session: AsyncSession,
        ticket: Ticket,
        *,
        rating: Rating,
        reason: str | None,
        agent: str,
    ) -> tuple[SatisfactionCallback, Outcome]:
        """人工回访: an agent called the citizen and records the answer on the open callback."""
        statement = (
            select(SatisfactionCallback)
            .where(SatisfactionCallback.ticket_id == ticket.id)
            .order_by(col(SatisfactionCallback.round).desc())
            .limit(1)
            .with_for_update()
        )
        callback = (await session.execute(statement)).scalars().first()
        if callback is None:
            raise Conflict(f"ticket {ticket.number} has no callback: it was never resolved")
        if callback.status not in OPEN:
            raise Conflict(
                f"the callback of ticket {ticket.number} (round {callback.round}) is "
                f"{callback.status}; only an open one can be answered"
            )
        outcome = await self.answering.rate(
            session,
            callback,
            rating=rating,
            reason=reason,
            via=f"agent:{agent}",
            actor=f"agent:{agent}",
        )
        return callback, outcome


async def _latest_at(
    session: AsyncSession,
    channel: str,
    address: str,
    condition: ColumnElement[bool],
    newest: Any,  # the column ordering the candidates, newest first
) -> SatisfactionCallback | None:
    """The newest callback at this channel address meeting ``condition``, locked."""
    statement = (
        select(SatisfactionCallback)
        .where(SatisfactionCallback.channel == channel)
        .where(SatisfactionCallback.address == address)
        .where(condition)
        .order_by(newest.desc())
        .limit(1)
        .with_for_update()
    )
    return (await session.execute(statement)).scalars().first()


def _still_waiting(callback: SatisfactionCallback, claim: LinkClaim, number: str) -> None:
    """A link answers only the question it was sent with, while it waits: once that attempt
    expired (asked again later, maybe elsewhere, with a new link) it is as expired as its time."""
    if callback.status == CallbackStatus.ANSWERED and callback.rating is not None:
        raise Gone(wording.already_rated(number, callback.rating), code="already_answered")
    if callback.status in ENDED:
        raise Gone(wording.LINK_ENDED, code="callback_ended")
    if callback.status != CallbackStatus.AWAITING or not claim.sent_for(callback.expires_at):
        raise Gone(wording.LINK_EXPIRED, code="link_expired")


def _with_reason_request(outcome: Outcome) -> str:
    return outcome.text + (wording.ASK_REASON if outcome.ask_reason else "")


async def _get(
    session: AsyncSession, callback_id: int, *, lock: bool = False
) -> SatisfactionCallback:
    callback = await session.get(SatisfactionCallback, callback_id, with_for_update=lock)
    if callback is None:
        raise NotFound(f"callback {callback_id} does not exist")
    return callback


async def _ticket(session: AsyncSession, ticket_id: int) -> Ticket:
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound(f"ticket {ticket_id} does not exist")
    return ticket
