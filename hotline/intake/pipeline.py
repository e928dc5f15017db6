"""The one port every channel calls: ``submit(message) -> replies``.

dedupe on (channel, external id) → persist the inbound message in the same transaction as
its effects → conversation policy → persist outbound replies → reply. Either all of it is
committed before the caller hears back, or none of it is.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.errors import ValidationFailed
from hotline.intake import duplicates, handoff, policy, records, status_query
from hotline.intake.hub import ReplyHub
from hotline.intake.intents import read_cues
from hotline.intake.messages import InboundMessage, IntakeResult, OutboundReply
from hotline.intake.outgoing import Outgoing
from hotline.intake.settings import Analysis, IntakeSettings, TextAnalyzer
from hotline.intake.status import due_text, status_label
from hotline.intake.steps import (
    CallbackStep,
    ClassifierStep,
    KnowledgeAnswer,
    KnowledgeStep,
    NoCallbacks,
    referral,
)
from hotline.intake.tickets import TicketFactory, TicketRequest
from hotline.nlu.masking import mask_phone
from hotline.observability import Metrics
from hotline.phones import readable
from hotline.storage.db import Database
from hotline.storage.models import Citizen, ContactKind, Conversation, Message, Ticket
from hotline.storage.repos import citizens, conversations
from hotline.storage.repos import tickets as ticket_repo

log = logging.getLogger(__name__)


class IntakePipeline:
    def __init__(
        self,
        *,
        database: Database,
        analyzer: TextAnalyzer,
        tickets: TicketFactory,
        classifier: ClassifierStep,
        knowledge: KnowledgeStep,
        settings: IntakeSettings,
        metrics: Metrics | None = None,
        hub: ReplyHub | None = None,
        callbacks: CallbackStep | None = None,
    ) -> None:
        self._db = database
        self._analyzer = analyzer
        self._tickets = tickets
        self._classifier = classifier
        self._knowledge = knowledge
        self._settings = settings
        self._metrics = metrics
        self._callbacks = callbacks or NoCallbacks()
        #: writes to citizens outside their own request (agents, results, callbacks)
        self.outgoing = Outgoing(
            push_channels=settings.push_channels,
            metrics=metrics,
            hub=hub,
            country_code=settings.country_code,
        )
        window = settings.duplicate_window
        self._duplicates = duplicates.DuplicateDetector(window=window) if window else None

    async def submit(self, message: InboundMessage) -> IntakeResult:
        """Process one inbound message exactly once and return the replies to send."""
        message = self._validate(message)
        analysis = await asyncio.to_thread(self._analyzer.analyze, message.text)
        return await self._once(message, lambda: self._process(message, analysis))

    async def submit_letter(self, message: InboundMessage, request: TicketRequest) -> IntakeResult:
        """A letter or form creates its ticket at once, without a conversation policy."""
        message = self._validate(message)
        replay = await self._replay(message)
        if replay is not None:
            return replay
        return await self._once(message, lambda: self._file_letter(message, request))

    async def _once(
        self, message: InboundMessage, process: Callable[[], Awaitable[IntakeResult]]
    ) -> IntakeResult:
        """Run ``process`` (one transaction) and lose no message to a race it can lose.

        A concurrent delivery of the same external id that won: answer as it did. Another
        first message from the same new address that created its citizen first (the contact
        point is unique): the transaction rolled back whole, so process once more, now finding
        that citizen.
        """
        for attempt in (1, 2):
            try:
                result = await process()
                break
            except IntegrityError:
                if (replay := await self._replay(message)) is not None:
                    return replay
                if attempt == 2:
                    raise
                log.info("intake.retry: a concurrent message created what this one needed")
        self._observe(message, result)
        return result

    async def _file_letter(self, message: InboundMessage, request: TicketRequest) -> IntakeResult:
        analysis = await asyncio.to_thread(self._analyzer.analyze, message.text)
        # The NLU reads the type only where the channel did not say it.
        request_type = request.request_type
        if request_type == "其他":
            request_type = str(analysis.request_type)
        request = replace(
            request,
            request_type=request_type,
            urgency=str(analysis.urgency),
            address=request.address or analysis.place,  # a letter names the place in its text
            emergency=None if analysis.emergency == "none" else str(analysis.emergency),
            contact_phone=request.contact_phone or next(iter(analysis.phones), None),
        )
        async with self._db.session() as session:
            citizen = await records.identify(session, message)
            conversation = await conversations.start(
                session,
                citizen_id=records.citizen_id(citizen),
                channel=message.channel,
                address=message.sender,
            )
            inbound = await records.store_inbound(session, conversation, message)
            ticket = await self._tickets.create(
                session,
                request=request,
                message=message,
                citizen_id=records.citizen_id(citizen),
                conversation_id=conversation.id,
                duplicates=self._duplicates,
            )
            if not message.sender_verified:
                await _unverified(session, ticket)
            reply = await self._created_reply(session, ticket)
            await records.store_replies(
                session, conversation, inbound, [reply], ticket, push=self._queues(conversation)
            )
            return records.result_of(conversation, inbound, [reply], ticket)

    def _queues(self, conversation: Conversation) -> bool:
        """Whether direct replies on this conversation's channel go out through the outbox."""
        return conversation.channel in self._settings.reply_push_channels

    async def send_agent_reply(self, *, conversation_id: str, text: str, agent: str) -> Message:
        """An agent writes to the citizen; the channel pushes it (WebSocket, chat API...)."""
        async with self._db.session() as session:
            message = await self.outgoing.write_to_citizen(
                session, conversation_id=conversation_id, text=text, author=f"agent:{agent}"
            )
        self.outgoing.announce([message])
        return message

    def _validate(self, message: InboundMessage) -> InboundMessage:
        """``message`` with its phones in the stored form (422 when one is no number)."""
        if not message.external_id or len(message.external_id) > 128:
            raise ValidationFailed("message_id: required, at most 128 characters")
        if len(message.text) > self._settings.max_text_chars:
            raise ValidationFailed(f"text: at most {self._settings.max_text_chars} characters")
        return records.with_canonical_phones(message, self._settings.country_code)

    async def _process(self, message: InboundMessage, analysis: Analysis) -> IntakeResult:
        async with self._db.session() as session:
            existing = await conversations.find_inbound(
                session, channel=message.channel, external_id=message.external_id
            )
            if existing is not None:
                return await records.replayed(session, existing)
            citizen = await records.identify(session, message)
            conversation = await records.conversation_for(
                session, citizen, message, idle_after=self._settings.conversation_idle
            )
            inbound = await records.store_inbound(session, conversation, message)
            answered = await self._callback_answer(session, conversation, message, analysis)
            if answered is not None:
                await records.store_replies(
                    session, conversation, inbound, [answered], None,
                    push=self._queues(conversation),
                )  # fmt: skip
                return records.result_of(conversation, inbound, [answered], None)
            turn = await self._turn(session, citizen, conversation, message, analysis)
            step = policy.step(conversation.state, conversation.draft, turn, self._settings.policy)
            ticket = await self._apply(session, citizen, conversation, message, step)
            queued = self._queues(conversation)
            await records.store_replies(
                session, conversation, inbound, step.replies, ticket, push=queued
            )
            await self._record_knowledge(session, conversation, inbound, step)
            return records.result_of(conversation, inbound, step.replies, ticket)

    async def _callback_answer(
        self,
        session: AsyncSession,
        conversation: Conversation,
        message: InboundMessage,
        analysis: Analysis,
    ) -> OutboundReply | None:
        """A satisfaction rating (or its reason); an emergency always goes to the policy."""
        if analysis.emergency != "none":
            return None
        return await self._callbacks.capture(
            session,
            channel=message.channel,
            address=message.sender,
            text=analysis.normalized,
            state=conversation.state,
        )

    async def _apply(
        self,
        session: AsyncSession,
        citizen: Citizen,
        conversation: Conversation,
        message: InboundMessage,
        step: policy.Step,
    ) -> Ticket | None:
        ticket = None
        if step.create_ticket:
            ticket = await self._tickets.create(
                session,
                request=TicketRequest.from_draft(step.draft),
                message=message,
                citizen_id=records.citizen_id(citizen),
                conversation_id=conversation.id,
                duplicates=self._duplicates,
            )
            step.replies.append(await self._created_reply(session, ticket))
            step.draft = {}
        if step.handoff:
            handoff.entered(conversation)
            log.info("intake.handoff", extra={"conversation": conversation.id})
        if step.emergency:
            conversation.emergency = step.emergency
            log.warning(
                "intake.emergency_referred",
                extra={"service": step.emergency, "conversation": conversation.id},
            )
        conversation.state = step.state
        conversation.draft = dict(step.draft)  # a new object, so the JSON column is saved
        await conversations.save(session, conversation)
        return ticket

    async def _created_reply(self, session: AsyncSession, ticket: Ticket) -> OutboundReply:
        reply = await self._filed_reply(session, ticket)
        if ticket.emergency not in policy.REFERRALS:
            return reply
        # The referral comes first: the ticket is flagged, but the citizen must call now.
        referral = policy.REFERRALS[ticket.emergency]
        return OutboundReply(
            f"{referral}{reply.text}",
            spoken=f"{referral}{reply.spoken or reply.text}",
            action=f"transfer:{ticket.emergency}",
        )

    async def _filed_reply(self, session: AsyncSession, ticket: Ticket) -> OutboundReply:
        original = await duplicates.original_of(session, ticket)
        if original is None:
            return policy.ticket_created(ticket.number)
        return policy.ticket_merged(
            ticket.number,
            original=original.number,
            status=status_label(original.status),
            due=due_text(original, timezone=self._settings.timezone),
        )

    async def _record_knowledge(
        self, session: AsyncSession, conversation: Conversation, inbound: Message, step: policy.Step
    ) -> None:
        if step.answered is not None:
            await self._knowledge.record_answer(
                session,
                conversation_id=conversation.id,
                message_id=records.message_id(inbound),
                answer=step.answered,
            )
        if step.gap:
            await self._knowledge.record_gap(session, question=step.gap)

    async def _turn(
        self,
        session: AsyncSession,
        citizen: Citizen,
        conversation: Conversation,
        message: InboundMessage,
        analysis: Analysis,
    ) -> policy.Turn:
        cues = read_cues(analysis.normalized)
        status_reply = None
        if cues.status_query:
            status_reply = await status_query.answer(
                session, citizen, cues.ticket_number, timezone=self._settings.timezone
            )
        own = await citizens.contact_of(
            session, citizen_id=records.citizen_id(citizen), kind=ContactKind.PHONE
        )
        # one stored before phones were kept as E.164 and never readable is not offered
        known_phone = message.contact_phone or readable(own, self._settings.country_code)
        needs_place: bool | None = None
        knowledge: tuple[KnowledgeAnswer, ...] = ()
        emergency = str(analysis.emergency)
        if policy.may_be_a_request(conversation.state, cues, analysis.normalized):
            classification = await self._classifier.classify(analysis.normalized)
            if classification is not None and classification.confident:
                needs_place = classification.needs_place
            # Two independent signals, the rules and the model: either one refers.
            emergency = referral(emergency, classification) or "none"
            knowledge = tuple(await self._knowledge.answer(analysis.normalized))
        place = analysis.place or (message.location.address if message.location else None)
        return policy.Turn(
            text=analysis.normalized,
            cues=cues,
            request_type=str(analysis.request_type),
            urgency=str(analysis.urgency),
            emergency=emergency,
            place=place,
            phones=analysis.phones,
            known_phone=known_phone,
            needs_place=needs_place,
            status_reply=status_reply,
            knowledge=knowledge,
        )

    async def replay(self, message: InboundMessage) -> IntakeResult | None:
        """The first answer to ``message`` when its (channel, external id) was processed."""
        return await self._replay(message)

    async def _replay(self, message: InboundMessage) -> IntakeResult | None:
        async with self._db.session() as session:
            existing = await conversations.find_inbound(
                session, channel=message.channel, external_id=message.external_id
            )
            return None if existing is None else await records.replayed(session, existing)

    def _observe(self, message: InboundMessage, result: IntakeResult) -> None:
        if self._metrics is None or result.repeated:
            return
        self._metrics.messages.labels(message.channel, "in").inc()
        self._metrics.messages.labels(message.channel, "out").inc(len(result.replies))
        if result.ticket is not None:  # only set when this very message created it
            self._metrics.tickets_created.labels(message.channel).inc()
        for reply in result.replies:
            if reply.action and reply.action.startswith("transfer:"):
                self._metrics.emergencies.labels(reply.action.split(":", 1)[1]).inc()


async def _unverified(session: AsyncSession, ticket: Ticket) -> None:
    """Staff read in the history that the phone is only what the writer typed."""
    phone = mask_phone(ticket.contact_phone) if ticket.contact_phone else "无"
    await ticket_repo.record(
        session, ticket=ticket, actor="system", action="phone_unverified",
        note=f"联系电话（{phone}）为来信人填写，未经短信验证：用于回复，不代表来信人身份",
    )  # fmt: skip
