"""Responsible units."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.errors import NotFound
from hotline.storage.models import DeliveryMethod, Unit, UnitLevel


@dataclass(frozen=True)
class Delivery:
    """How a unit receives its tickets; the API queue (pull) when nothing else is set."""

    method: DeliveryMethod = DeliveryMethod.PULL
    webhook_url: str | None = None
    webhook_secret: str | None = None
    email: str | None = None


async def by_code(session: AsyncSession, *, code: str) -> Unit:
    result = await session.execute(select(Unit).where(Unit.code == code))
    unit = result.scalars().first()
    if unit is None:
        raise NotFound(f"unit {code} does not exist")
    return unit


async def get(session: AsyncSession, *, unit_id: int) -> Unit:
    unit = await session.get(Unit, unit_id)
    if unit is None:
        raise NotFound(f"unit {unit_id} does not exist")
    return unit


async def upsert(
    session: AsyncSession,
    *,
    code: str,
    name: str,
    level: UnitLevel,
    parent_code: str | None = None,
    areas: list[str] | None = None,
    delivery: Delivery | None = None,
) -> Unit:
    """Create or update a unit by its code (used by ``hotline init``; idempotent)."""
    parent_id = (await by_code(session, code=parent_code)).id if parent_code else None
    existing = (await session.execute(select(Unit).where(Unit.code == code))).scalars().first()
    unit = existing or Unit(code=code, name=name, level=level)
    unit.name, unit.level, unit.parent_id, unit.areas = name, level, parent_id, list(areas or [])
    delivery = delivery or Delivery()
    unit.delivery_method = delivery.method
    unit.webhook_url, unit.webhook_secret = delivery.webhook_url, delivery.webhook_secret
    unit.email = delivery.email
    session.add(unit)
    await session.flush()
    return unit


async def all_units(session: AsyncSession) -> list[Unit]:
    return list((await session.execute(select(Unit).order_by(col(Unit.code)))).scalars())
