"""Tickets at units, units' delivery settings and a real webhook receiver for dispatch tests."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.intake import ticket_actions as actions
from hotline.routing.delivery import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, verify
from hotline.storage.db import Database
from hotline.storage.models import (
    Citizen,
    DeliveryMethod,
    Dispatch,
    Ticket,
    TicketEvent,
)
from hotline.storage.repos import tickets as ticket_repo
from hotline.storage.repos import units as unit_repo

SECRET = "unit-webhook-secret-0123"


async def new_ticket(
    session: AsyncSession,
    number: str,
    *,
    unit_code: str | None = None,
    due_at: datetime | None = None,
    warn_at: datetime | None = None,
) -> Ticket:
    """A stored ticket; with ``unit_code`` an agent assigned it there (which queues a dispatch)."""
    citizen = Citizen()
    session.add(citizen)
    await session.flush()
    ticket = Ticket(
        number=number,
        citizen_id=citizen.id or 0,
        channel="app",
        title="路灯不亮",
        description="望江路18号门口路灯坏了，联系电话13912345678",
        address="望江路18号",
        contact_phone="13912345678",
        subcategory_code="0503",
        category_code="05",
    )
    await ticket_repo.add(session, ticket, actor="citizen")
    if unit_code is not None:
        await actions.assign(session, ticket, actor="agent:a", unit_code=unit_code, due_at=None)
        if due_at is not None:
            ticket.due_at, ticket.warn_at = due_at, warn_at
            await ticket_repo.touch(session, ticket)
    return ticket


async def set_delivery(
    database: Database,
    code: str,
    method: DeliveryMethod,
    *,
    url: str | None = None,
    secret: str | None = SECRET,
    email: str | None = None,
) -> None:
    async with database.session() as session:
        unit = await unit_repo.by_code(session, code=code)
        unit.delivery_method = method
        unit.webhook_url, unit.webhook_secret, unit.email = url, secret, email
        session.add(unit)


async def dispatches(database: Database) -> list[Dispatch]:
    async with database.read() as session:
        statement = select(Dispatch).order_by(col(Dispatch.id))
        return list((await session.execute(statement)).scalars())


async def events(database: Database, number: str) -> list[TicketEvent]:
    async with database.read() as session:
        ticket = await ticket_repo.by_number(session, number=number)
        assert ticket.id is not None
        return await ticket_repo.history(session, ticket_id=ticket.id)


@dataclass
class Receiver:
    """A unit's webhook endpoint on a real socket: checks signatures, counts deliveries."""

    secret: str = SECRET
    #: answer with this status (200: accept)
    status: int = 200
    received: list[dict[str, Any]] = field(default_factory=list)
    deliveries: Counter[str] = field(default_factory=Counter)
    bad_signatures: int = 0
    runner: web.AppRunner | None = None
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if not verify(self.secret, body, request.headers.get(SIGNATURE_HEADER)):
            self.bad_signatures += 1
            return web.Response(status=401, text="bad signature")
        if self.status >= 300:
            return web.Response(status=self.status, text="unit system down")
        delivery = request.headers[DELIVERY_HEADER]
        self.deliveries[delivery] += 1
        self.received.append(
            {"event": request.headers[EVENT_HEADER], "delivery": delivery, **json.loads(body)}
        )
        return web.Response(status=204)

    async def start(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/hook"
        return self

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
