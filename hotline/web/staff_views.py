"""How tickets look to staff: full for agents, with personal data masked in lists."""

from __future__ import annotations

from typing import Any

from hotline.callbacks.links import hide_tokens
from hotline.intake.queries import message_view
from hotline.intake.status import status_label
from hotline.nlu.masking import mask_address, mask_phone
from hotline.storage.models import Message, Ticket, TicketEvent


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def staff_message_view(message: Message) -> dict[str, Any]:
    """A conversation's message as staff see it: rating links without their token."""
    view = message_view(message)
    view["text"] = hide_tokens(message.text)
    return view


def ticket_summary(ticket: Ticket, *, duplicate_of: str | None = None) -> dict[str, Any]:
    """A queue row: suggestions first, contact phone and e-mail masked (a list does not need
    them).

    ``report_count`` is how many citizens reported the matter; a duplicate report names the
    ticket it was merged into in ``duplicate_of`` (its number, when the caller looked it up).
    """
    return {
        "number": ticket.number,
        "suggestions": ticket.suggestions,
        "category": ticket.category_code,
        "subcategory": ticket.subcategory_code,
        "title": ticket.title,
        "request_type": ticket.request_type,
        "urgency": ticket.urgency,
        "status": ticket.status,
        "status_label": status_label(ticket.status),
        "channel": ticket.channel,
        "address": ticket.address,
        "contact_phone": mask_phone(ticket.contact_phone) if ticket.contact_phone else None,
        "contact_email": _masked_email(ticket),
        "unit_id": ticket.unit_id,
        "due_at": _iso(ticket.due_at),
        "created_at": _iso(ticket.created_at),
        "report_count": ticket.report_count,
        "duplicate_of_id": ticket.duplicate_of_id,
        "duplicate_of": duplicate_of,
    }


def ticket_detail(ticket: Ticket, *, duplicate_of: str | None = None) -> dict[str, Any]:
    """Everything an agent needs to work the ticket, including how to call the citizen back.

    The e-mail address given with the request stays masked: the hotline writes to it (the
    result, the callback), nobody on the desk has to, and it may be another citizen's.
    """
    return {
        **ticket_summary(ticket, duplicate_of=duplicate_of),
        "description": ticket.description,
        "contact_name": ticket.contact_name,
        "contact_phone": ticket.contact_phone,
        "contact_email": _masked_email(ticket),
        "latitude": ticket.latitude,
        "longitude": ticket.longitude,
        "media_url": ticket.media_url,
        "area": ticket.area,
        "classified_by": ticket.classified_by,
        "emergency": ticket.emergency,
        "conversation_id": ticket.conversation_id,
        "citizen_id": ticket.citizen_id,
        "updated_at": _iso(ticket.updated_at),
        "closed_at": _iso(ticket.closed_at),
    }


def _masked_email(ticket: Ticket) -> str | None:
    return mask_address(ticket.contact_email) if ticket.contact_email else None


def event_view(event: TicketEvent) -> dict[str, Any]:
    return {
        "at": _iso(event.at),
        "actor": event.actor,
        "action": event.action,
        "from": event.from_value,
        "to": event.to_value,
        "note": event.note,
    }
