"""Citizens and contact points.

A contact point a channel proved (``verified``) identifies its citizen; one they only typed
or wrote down is where they may be answered, and gives way to whoever proves the address.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.nlu.masking import mask_address
from hotline.storage.models import Citizen, ContactKind, ContactPoint, Ticket

log = logging.getLogger(__name__)


async def find_by_contact(
    session: AsyncSession, *, kind: ContactKind, value: str
) -> Citizen | None:
    """The citizen a channel proved this address for, if any (a typed one identifies nobody)."""
    statement = (
        select(Citizen)
        .join(ContactPoint, col(ContactPoint.citizen_id) == col(Citizen.id))
        .where(ContactPoint.kind == kind, ContactPoint.value == value, col(ContactPoint.verified))
    )
    return (await session.execute(statement)).scalars().first()


async def identify(
    session: AsyncSession, *, kind: ContactKind, value: str, name: str | None = None
) -> Citizen:
    """The citizen behind an address the channel proved, creating them on first contact.

    Someone who only typed the address (a number in a chat) loses it to the prover, who is
    never taken for them: they keep their tickets and conversations, the address stops being
    theirs to be answered at.
    """
    citizen = await find_by_contact(session, kind=kind, value=value)
    if citizen is not None:
        return citizen
    claim = await _point(session, kind=kind, value=value)
    if claim is not None and claim.verified:
        # proven a moment ago by another message from the same address: that citizen
        proven = await session.get(Citizen, claim.citizen_id)
        if proven is not None:
            return proven
    citizen = await create(session, name=name)
    if claim is not None:
        await session.delete(claim)
        await session.flush()  # before the insert: (kind, value) is unique
        log.warning(
            "citizens.claim_given_way: %s %s given by citizen %s is proven by citizen %s",
            kind, mask_address(value), claim.citizen_id, citizen.id,
        )  # fmt: skip
    session.add(ContactPoint(citizen_id=_id(citizen), kind=kind, value=value, verified=True))
    await session.flush()
    return citizen


async def create(session: AsyncSession, *, name: str | None = None) -> Citizen:
    """A new citizen with no contact point yet."""
    citizen = Citizen(name=name)
    session.add(citizen)
    await session.flush()
    return citizen


async def add_contact(
    session: AsyncSession, *, citizen_id: int, kind: ContactKind, value: str
) -> bool:
    """Attach an unverified contact point (an address the citizen gave) unless someone already
    has it; returns whether it was added.

    It is an address to answer at, never a way to the citizen: a number typed into a chat
    identifies nobody (:func:`find_by_contact`), or anyone could read another person's tickets
    by typing their phone number.
    """
    if await _point(session, kind=kind, value=value) is not None:
        return False
    session.add(ContactPoint(citizen_id=citizen_id, kind=kind, value=value, verified=False))
    await session.flush()
    return True


async def contact_of(session: AsyncSession, *, citizen_id: int, kind: ContactKind) -> str | None:
    """The citizen's first contact point of ``kind``, if any, to answer at: verified or only
    given by them (the number they typed is where they asked to be called)."""
    result = await session.execute(
        select(ContactPoint.value)
        .where(ContactPoint.citizen_id == citizen_id, ContactPoint.kind == kind)
        .order_by(col(ContactPoint.id))
    )
    return result.scalars().first()


async def reply_contact(session: AsyncSession, *, ticket: Ticket, kind: ContactKind) -> str | None:
    """Where to answer ``ticket`` by phone or e-mail: the address given with the request, else
    the citizen's own (:func:`contact_of`).

    The request's address is used even when another citizen owns it (someone writing for a
    relative gives the relative's address): it is only written to, never a way to that
    citizen's tickets, which go on being found by the owner's contact points alone.
    """
    given = {ContactKind.PHONE: ticket.contact_phone, ContactKind.EMAIL: ticket.contact_email}
    return given.get(kind) or await contact_of(session, citizen_id=ticket.citizen_id, kind=kind)


def _id(citizen: Citizen) -> int:
    if citizen.id is None:
        raise RuntimeError("citizen has no id before flush")
    return citizen.id


async def _point(session: AsyncSession, *, kind: ContactKind, value: str) -> ContactPoint | None:
    found = await session.execute(
        select(ContactPoint).where(ContactPoint.kind == kind, ContactPoint.value == value)
    )
    return found.scalars().first()
