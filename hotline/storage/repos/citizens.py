"""Citizens and contact points."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.storage.models import Citizen, ContactKind, ContactPoint, Ticket


async def find_by_contact(
    session: AsyncSession, *, kind: ContactKind, value: str
) -> Citizen | None:
    """The citizen who owns this contact point, if any."""
    statement = (
        select(Citizen)
        .join(ContactPoint, col(ContactPoint.citizen_id) == col(Citizen.id))
        .where(ContactPoint.kind == kind, ContactPoint.value == value)
    )
    return (await session.execute(statement)).scalars().first()


async def identify(
    session: AsyncSession, *, kind: ContactKind, value: str, name: str | None = None
) -> Citizen:
    """Find the citizen behind a channel address, creating them on first contact."""
    citizen = await find_by_contact(session, kind=kind, value=value)
    if citizen is not None:
        return citizen
    citizen = await create(session, name=name)
    session.add(ContactPoint(citizen_id=_id(citizen), kind=kind, value=value))
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
    """Attach a contact point unless someone already owns it; returns whether it was added.

    An unverified number typed into a chat is never used to merge two citizens: that would let
    anyone read another person's tickets by typing their phone number.
    """
    existing = await session.execute(
        select(ContactPoint).where(ContactPoint.kind == kind, ContactPoint.value == value)
    )
    if existing.scalars().first() is not None:
        return False
    session.add(ContactPoint(citizen_id=citizen_id, kind=kind, value=value))
    await session.flush()
    return True


async def contact_of(session: AsyncSession, *, citizen_id: int, kind: ContactKind) -> str | None:
    """The citizen's first contact point of ``kind``, if any."""
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
