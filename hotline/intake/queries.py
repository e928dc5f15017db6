"""Read-only questions citizens' channels may ask: a conversation, a ticket's status."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.errors import NotFound
from hotline.intake import duplicates
from hotline.intake.status import status_label
from hotline.nlu.masking import mask_phone
from hotline.phones import DEFAULT_COUNTRY, readable
from hotline.storage.db import Database
from hotline.storage.models import Message, Ticket, TicketStatus
from hotline.storage.repos import conversations, units
from hotline.storage.repos import tickets as ticket_repo


def message_view(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "direction": message.direction,
        "author": "agent" if message.author.startswith("agent:") else message.author,
        "text": message.text,
        "meta": message.meta,
        "attachments": message.attachments,
        "created_at": message.created_at.isoformat(),
    }


@dataclass(frozen=True)
class CitizenQueries:
    database: Database
    #: a phone given to prove a ticket is one's own is read as E.164 under this country code
    country_code: str = DEFAULT_COUNTRY

    async def conversation(self, conversation_id: str) -> dict[str, Any]:
        async with self.database.read() as session:
            conversation = await conversations.get(session, conversation_id=conversation_id)
            items = await conversations.messages(session, conversation_id=conversation_id)
        return {
            "id": conversation.id,
            "channel": conversation.channel,
            "state": conversation.state,
            "created_at": conversation.created_at.isoformat(),
            "updated_at": conversation.updated_at.isoformat(),
            "messages": [message_view(m) for m in items],
        }

    async def messages_after(self, conversation_id: str, after_id: int) -> list[Message]:
        async with self.database.read() as session:
            return await conversations.messages(
                session, conversation_id=conversation_id, after_id=after_id
            )

    async def ticket_status(self, number: str, phone: str) -> dict[str, Any]:
        """A ticket's status for a citizen who proves it is theirs with the contact phone."""
        async with self.database.read() as session:
            try:
                ticket = await ticket_repo.by_number(session, number=number)
            except NotFound:
                ticket = None
            given = readable(phone, self.country_code)
            if ticket is None or not _phone_matches(ticket, given):
                # Same answer for "no such ticket" and "not your phone": numbers are guessable.
                raise NotFound(f"no ticket {number} with that contact phone")
            unit = await units.get(session, unit_id=ticket.unit_id) if ticket.unit_id else None
            # A merged report is followed through the ticket it joined.
            original = await duplicates.original_of(session, ticket)
            merged = await _merged(session, original) if original is not None else None
        return {**_status_view(ticket, unit.name if unit else None), "merged_into": merged}


async def _merged(session: AsyncSession, original: Ticket) -> dict[str, Any]:
    unit = await units.get(session, unit_id=original.unit_id) if original.unit_id else None
    view = _status_view(original, unit.name if unit else None)
    return {k: view[k] for k in ("number", "status", "status_label", "unit", "due_at")}


def _phone_matches(ticket: Ticket, phone: str | None) -> bool:
    """Whether ``phone`` (canonical) is the ticket's contact phone, compared in constant time."""
    if not ticket.contact_phone or not phone:
        return False
    return hmac.compare_digest(ticket.contact_phone.encode(), phone.encode())


def _status_view(ticket: Ticket, unit_name: str | None) -> dict[str, Any]:
    resolved = ticket.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED)
    return {
        "number": ticket.number,
        "title": ticket.title,
        "status": ticket.status,
        "status_label": status_label(ticket.status),
        "unit": unit_name,
        "due_at": ticket.due_at.isoformat() if ticket.due_at else None,
        "created_at": ticket.created_at.isoformat(),
        "updated_at": ticket.updated_at.isoformat(),
        "closed_at": ticket.closed_at.isoformat() if resolved and ticket.closed_at else None,
        "contact_phone": mask_phone(ticket.contact_phone) if ticket.contact_phone else None,
    }
