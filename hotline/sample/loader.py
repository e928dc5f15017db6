"""Sample units and staff users for a fresh installation (``hotline init``)."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.ext.asyncio import AsyncSession

from hotline.auth import hash_password
from hotline.errors import ConfigError
from hotline.knowledge.io import load_sample_knowledge
from hotline.storage.models import DeliveryMethod, Role, UnitLevel
from hotline.storage.repos import staff, units

UNITS_FILE = Path(__file__).with_name("units.yml")

SAMPLE_USERS = (
    ("admin", "系统管理员", Role.ADMIN, None),
    ("agent", "话务员小李", Role.AGENT, None),
    ("editor", "知识编辑小王", Role.EDITOR, None),
    ("reviewer", "知识审核老陈", Role.EDITOR, None),
    ("supervisor", "值班长老张", Role.SUPERVISOR, None),
    ("chengguan", "市城管局联络员", Role.UNIT, "LJ-CG"),
)


@dataclass(frozen=True)
class InitReport:
    units: int
    new_users: dict[str, str]  # username -> generated password, shown once
    knowledge_entries: int


async def load_units(
    session: AsyncSession, path: Path = UNITS_FILE, env: Mapping[str, str] | None = None
) -> int:
    """Create or update the sample units (parents first, as listed); idempotent."""
    data = yaml.safe_load(await asyncio.to_thread(path.read_text, encoding="utf-8"))
    env = os.environ if env is None else env
    count = 0
    for item in data["units"]:
        await units.upsert(
            session,
            code=item["code"],
            name=item["name"],
            level=UnitLevel(item["level"]),
            parent_code=item.get("parent"),
            areas=item.get("areas", []),
            delivery=delivery_of(item, env),
        )
        count += 1
    return count


def delivery_of(item: Mapping[str, Any], env: Mapping[str, str]) -> units.Delivery:
    """A unit's ``delivery`` entry; the webhook secret comes from the named variable.

    ``delivery: {method: webhook, url: https://…, secret_env: LJ_SW_WEBHOOK_SECRET}``,
    ``delivery: {method: email, address: gongdan@…}`` or nothing (the API queue).
    """
    code = item.get("code")
    raw = item.get("delivery") or {}
    try:
        method = DeliveryMethod(raw.get("method", "pull"))
    except ValueError as e:
        raise ConfigError(
            f"units: {code}: delivery.method must be pull, webhook or email, not {raw['method']!r}"
        ) from e
    if method is DeliveryMethod.WEBHOOK:
        url, variable = raw.get("url"), raw.get("secret_env")
        if not url or not str(url).startswith(("https://", "http://")):
            raise ConfigError(f"units: {code}: delivery.url must be an http(s) URL")
        if not variable or not env.get(variable):
            raise ConfigError(
                f"units: {code}: delivery.secret_env must name an environment variable "
                f"holding the webhook secret ({variable or 'none given'} is not set)"
            )
        return units.Delivery(method, webhook_url=url, webhook_secret=env[variable])
    if method is DeliveryMethod.EMAIL:
        address = raw.get("address")
        if not address or "@" not in str(address):
            raise ConfigError(f"units: {code}: delivery.address must be an e-mail address")
        return units.Delivery(method, email=address)
    return units.Delivery()


async def create_sample_users(session: AsyncSession) -> dict[str, str]:
    """Create the sample staff users that do not exist yet, each with a random password."""
    created: dict[str, str] = {}
    for username, name, role, unit_code in SAMPLE_USERS:
        if await staff.by_username(session, username=username) is not None:
            continue
        unit_id = (await units.by_code(session, code=unit_code)).id if unit_code else None
        password = secrets.token_urlsafe(12)
        await staff.create(
            session,
            username=username,
            display_name=name,
            password_hash=hash_password(password),
            role=role,
            unit_id=unit_id,
        )
        created[username] = password
    return created


async def initialise(session: AsyncSession) -> InitReport:
    """Units, staff users and the published sample knowledge (idempotent)."""
    count = await load_units(session)
    users = await create_sample_users(session)
    admin = await staff.by_username(session, username="admin")
    entries = await load_sample_knowledge(session, author_id=admin.id or 0) if admin else 0
    return InitReport(units=count, new_users=users, knowledge_entries=entries)
