"""A citizen's later material for a ticket they already have (补充材料), e.g. a reply by mail.

It is stored in the ticket's own conversation as the citizen's message (with its attachments)
and as one line of the ticket's history, ``supplemented``, which agents and the unit see with
the ticket; a report merged into an open ticket also puts the line on that ticket, where the
unit works. All of it in the caller's transaction, so the channel's (channel, external id)
uniqueness makes a repeated delivery fail as a whole. Nothing is answered: an answer to a reply
could ping-pong with an auto-responder that does not say it is one.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from hotline.intake import duplicates, records
from hotline.intake.messages import InboundMessage
from hotline.storage.models import Conversation, Message, Ticket
from hotline.storage.repos import tickets as ticket_repo

#: how much of the new text the history line quotes (the message holds all of it)
NOTE_CHARS = 500


async def add_supplement(
    session: AsyncSession, message: InboundMessage, *, ticket: Ticket, conversation: Conversation
) -> Message:
    """Store ``message`` as material for ``ticket``; returns the stored message."""
    stored = await records.store_inbound(session, conversation, message)
    stored.ticket_id = ticket.id
    session.add(stored)
    note = "补充材料：" + message.text[:NOTE_CHARS]
    if message.attachments:
        note += f"（附件 {len(message.attachments)} 个）"
    await ticket_repo.record(
        session, ticket=ticket, actor="citizen", action="supplemented", note=note
    )
    await ticket_repo.touch(session, ticket)
    original = await duplicates.original_of(session, ticket)
    if original is not None:
        await ticket_repo.record(
            session,
            ticket=original,
            actor="citizen",
            action="supplemented",
            from_value=ticket.number,
            note=note,
        )
    return stored
