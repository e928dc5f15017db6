"""Turning a completed request into a ticket: number, classification, routing, history."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from hotline.errors import HotlineError
from hotline.intake.duplicates import DuplicateDetector
from hotline.intake.messages import InboundMessage
from hotline.intake.steps import (
    ClassificationResult,
    ClassifierStep,
    RouterStep,
    referral,
)
from hotline.phones import DEFAULT_COUNTRY, canonical_or_none
from hotline.routing import outbox
from hotline.storage.models import DispatchKind, Ticket, TicketStatus
from hotline.storage.repos import tickets as ticket_repo
from hotline.storage.repos import units as unit_repo
from hotline.storage.types import utcnow

log = logging.getLogger(__name__)

TITLE_CHARS = 40


@dataclass(frozen=True)
class TicketRequest:
    """What the citizen asked for, as taken down by a channel or the conversation."""

    description: str
    request_type: str = "其他"
    title: str | None = None
    address: str | None = None
    #: a district or street the citizen chose on a form
    area: str | None = None
    #: the phone and e-mail address to answer this request at (a form's fields, a mail's
    #: address): kept on the ticket even when another citizen owns them
    contact_phone: str | None = None
    contact_email: str | None = None
    contact_name: str | None = None
    urgency: str = "normal"
    #: set when the citizen chose the service (an Open311 service code, a form's category)
    category_code: str | None = None
    subcategory_code: str | None = None
    #: a picture of the matter the citizen linked
    media_url: str | None = None
    #: the emergency line ("110", "119", "120", "122") the NLU rules read in the request
    emergency: str | None = None

    @classmethod
    def from_draft(cls, draft: dict[str, Any]) -> TicketRequest:
        return cls(
            description=str(draft.get("description", "")),
            request_type=str(draft.get("request_type", "其他")),
            address=draft.get("place"),
            contact_phone=draft.get("phone"),
            urgency=str(draft.get("urgency", "normal")),
        )


def make_title(description: str) -> str:
    first_line = description.strip().splitlines()[0] if description.strip() else "（无内容）"
    return first_line if len(first_line) <= TITLE_CHARS else first_line[: TITLE_CHARS - 1] + "…"


class TicketFactory:
    """Creates tickets with a unique number, suggestions, routing and a first history line."""

    def __init__(
        self,
        *,
        classifier: ClassifierStep,
        router: RouterStep,
        timezone: str,
        sequence_digits: int,
        counters: AsyncEngine | None = None,
        country_code: str = DEFAULT_COUNTRY,
    ) -> None:
        self._classifier = classifier
        self._router = router
        #: where ticket numbers are taken in a transaction of their own (PostgreSQL)
        self._counters = counters
        self._timezone = timezone
        self._digits = sequence_digits
        #: the contact phone is stored as E.164 under this country code (hotline.phones)
        self._country = country_code

    async def create(
        self,
        session: AsyncSession,
        *,
        request: TicketRequest,
        message: InboundMessage,
        citizen_id: int,
        conversation_id: str | None,
        duplicates: DuplicateDetector | None = None,
    ) -> Ticket:
        """The new ticket; a duplicate of an open one is linked to it (merged), not routed.

        The classifier runs before the number is taken: on SQLite the number's row lock lasts
        until the transaction ends, and every other ticket waits for what this one does after
        taking it. A contact phone that is no telephone number is refused (422) first.
        """
        phone = canonical_or_none(request.contact_phone, self._country)
        result = await self._classifier.classify(request.description)
        number = await ticket_repo.next_number(
            session,
            now=utcnow(),
            timezone=self._timezone,
            digits=self._digits,
            counters=self._counters,
        )
        location = message.location
        ticket = Ticket(
            number=number,
            citizen_id=citizen_id,
            conversation_id=conversation_id,
            channel=message.channel,
            request_type=request.request_type,
            title=request.title or make_title(request.description),
            description=request.description,
            address=request.address or (location.address if location else None),
            area=request.area,
            latitude=location.latitude if location else None,
            longitude=location.longitude if location else None,
            media_url=request.media_url,
            emergency=request.emergency,
            contact_phone=phone,
            contact_email=request.contact_email,
            contact_name=request.contact_name,
            urgency=request.urgency,
            category_code=request.category_code,
            subcategory_code=request.subcategory_code,
            classified_by="citizen" if request.subcategory_code else None,
        )
        await ticket_repo.add(session, ticket, actor="citizen", note=f"channel {message.channel}")
        await self._classified(session, ticket, result)
        await self._flag_emergency(session, ticket, result)
        if duplicates is None or await duplicates.link(session, ticket) is None:
            await self._route(session, ticket)
        log.info("intake.ticket_created", extra={"ticket": number, "channel": message.channel})
        return ticket

    async def _classified(
        self, session: AsyncSession, ticket: Ticket, result: ClassificationResult | None
    ) -> None:
        """Store the suggestions; a confident one classifies the ticket (not over the citizen's
        own choice)."""
        if result is None:
            return
        ticket.suggestions = _suggestions(result)
        chosen = ticket.subcategory_code is not None  # the citizen's own choice stands
        if result.confident and result.top is not None and not chosen:
            ticket.category_code = result.top.category_code
            ticket.subcategory_code = result.top.subcategory_code
            ticket.classified_by = f"model:{result.model_version}"
            await ticket_repo.record(
                session,
                ticket=ticket,
                actor="model",
                action="classified",
                to_value=ticket.subcategory_code,
            )
        await ticket_repo.touch(session, ticket)

    async def _flag_emergency(
        self, session: AsyncSession, ticket: Ticket, result: ClassificationResult | None
    ) -> None:
        """A ticket that reads like an emergency (the rules or the model) is flagged for
        supervisors: a letter or a form cannot be transferred to 110/119/120/122 the way a call
        can, so someone must act on it now. It is still routed like any other ticket."""
        ticket.emergency = referral(ticket.emergency, result)
        if ticket.emergency is None:
            return
        ticket.urgency = "critical"
        await ticket_repo.touch(session, ticket)
        await ticket_repo.record(
            session,
            ticket=ticket,
            actor="system",
            action="emergency_flagged",
            to_value=ticket.emergency,
            note=f"可能需要 {ticket.emergency} 紧急处置",
        )
        log.warning(
            "intake.emergency_flagged",
            extra={"ticket": ticket.number, "service": ticket.emergency},
        )

    async def _route(self, session: AsyncSession, ticket: Ticket) -> None:
        try:
            decision = await self._router.route(session, ticket)
        except HotlineError as e:
            # A misconfigured rule must not lose the citizen's request: agents route it.
            log.error("intake.routing_failed ticket=%s: %s", ticket.number, e.message)
            await ticket_repo.record(
                session, ticket=ticket, actor="system", action="routing_failed", note=e.message
            )
            return
        if decision is None:
            return
        ticket.unit_id, ticket.due_at = decision.unit_id, decision.due_at
        ticket.warn_at = decision.warn_at
        previous, ticket.status = ticket.status, TicketStatus.DISPATCHED
        await ticket_repo.touch(session, ticket)
        event = await ticket_repo.record(
            session,
            ticket=ticket,
            actor="system",
            action="dispatched",
            from_value=previous,
            to_value=str(decision.unit_id),
            note=decision.reason,
        )
        unit = await unit_repo.get(session, unit_id=decision.unit_id)
        await outbox.enqueue(
            session, ticket=ticket, unit=unit, event=event, kind=DispatchKind.DISPATCHED
        )


def _suggestions(result: ClassificationResult) -> list[dict[str, Any]]:
    return [
        {"category": s.category_code, "subcategory": s.subcategory_code, "score": round(s.score, 4)}
        for s in result.suggestions
    ]
