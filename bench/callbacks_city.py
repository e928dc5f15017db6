"""The city of the callbacks benchmark: its installation, citizens and accepted tickets, and
their 办结 with the callbacks planned (step 1 of ``bench/callbacks_load.py``).

Ticket ``i`` (number ``B<i>``) comes from the app, Telegram, SMS or a phone call in turn; every
``MERGED_EVERY``-th has a second citizen's report (``D<i>``, from the app) merged into it. Its
citizen's address and phone follow from ``i``, so the checks know what each vendor must get.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlmodel import col
from timing import in_parallel, percentiles

from hotline.intake import ticket_actions as actions
from hotline.sample.loader import load_units
from hotline.services import Services
from hotline.storage.db import Database
from hotline.storage.models import (
    Citizen,
    ContactKind,
    ContactPoint,
    Conversation,
    Ticket,
    TicketStatus,
    Unit,
)
from hotline.storage.repos import tickets as ticket_repo
from hotline.storage.types import utcnow

API_KEY = "bench-app-key-0123456789abcdef"
SID = "AC" + "0" * 32
BOT = "123456:bench-bot-token"
LINK_BASE = "https://12345.bench.invalid"
HELD = datetime(2100, 1, 1, tzinfo=UTC)
CHANNELS = ("app", "telegram", "sms", "phone")
KINDS = {"app": ContactKind.APP, "telegram": ContactKind.TELEGRAM,
         "sms": ContactKind.PHONE, "phone": ContactKind.PHONE}  # fmt: skip
#: every so many tickets another citizen's report of the same matter was merged into it
MERGED_EVERY = 10
REPLY = "路灯已更换，经现场核实已恢复照明。"
#: the environment the workers and the services here read: none of the caller's overrides
OVERRIDES = ("HOTLINE_DATA_DIR", "HOTLINE_DATABASE_URL", "HOTLINE_CONFIG")
CLEAN_ENV = {k: v for k, v in os.environ.items() if k not in OVERRIDES}


def write_config(workdir: Path, url: str, vendor_url: str, args: argparse.Namespace) -> Path:
    path = workdir / "config.yml"
    twilio = {"enabled": True, "account_sid": SID, "auth_token": "bench-auth-token",
              "public_base_url": LINK_BASE, "sms_from": "+8610012345",
              "voice_from": "+8610012345", "api_base_url": vendor_url}  # fmt: skip
    telegram = {"enabled": True, "bot_token": BOT, "webhook_secret": "bench-webhook-secret",
                "api_base_url": vendor_url}  # fmt: skip
    config = {
        "data_dir": str(workdir),
        "database": {"url": url, "pool_size": max(5, args.concurrency + 2)},
        "channels": {
            "app": {"api_key": API_KEY},
            "letters": {"enabled": False},
            "telegram": telegram,
            "twilio": twilio,
        },
        "classifier": {"required": False},
        "knowledge": {"enabled": False},
        "logging": {"format": "text", "level": "WARNING"},
        "dispatch": {
            "embedded": "never",
            "lease_seconds": args.lease_seconds,
            "webhook_timeout_seconds": min(10.0, args.lease_seconds / 2),
        },
        "callbacks": {
            "delay_minutes": 0,
            "first_hour": 0,
            "last_hour": 24,
            "poll_seconds": args.poll_seconds,
            "batch_size": args.batch_size,
            "link": {"base_url": LINK_BASE, "secret": "bench-rating-link-secret-" + "x" * 32},
        },
    }
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return path


# -- accepted tickets, waiting to be resolved ----------------------------------------------


async def seed(database: Database, tickets: int) -> list[str]:
    """The accepted tickets' numbers; each has its citizen, contact and conversation."""
    async with database.session() as session:
        await load_units(session, env={})
    async with database.read() as session:
        found = await session.execute(select(col(Unit.id)).order_by(col(Unit.id)))
        units = [unit for unit in found.scalars() if unit is not None]
    now, numbers = utcnow(), []
    for first in range(0, tickets, 250):
        async with database.session() as session:
            for i in range(first, min(first + 250, tickets)):
                numbers.append(await _accepted(session, i, units[i % len(units)], now))
        print(f"\rseeded {len(numbers)}/{tickets}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return numbers


def channel_of(i: int) -> str:
    return CHANNELS[i % len(CHANNELS)]


def phone_of(i: int) -> str:
    return f"+86139{i:08d}"


def address_of(i: int) -> str:
    """The address of the citizen of ticket ``i`` on its channel (a caller's is their phone)."""
    channel = channel_of(i)
    if channel == "app":
        return f"bench-app-{i}"
    return str(500_000_000 + i) if channel == "telegram" else phone_of(i)


async def _accepted(session: Any, i: int, unit_id: int, now: datetime) -> str:
    # stored as the service stores every phone: E.164 (hotline.phones)
    channel, phone = channel_of(i), phone_of(i)
    # half the app and Telegram citizens also gave a phone number (a call is their second route)
    with_phone = channel in ("sms", "phone") or (i // len(CHANNELS)) % 2 == 0
    conversation = await _citizen_on(session, channel, address_of(i), KINDS[channel])
    ticket = Ticket(
        number=f"B{i:09d}", citizen_id=conversation.citizen_id, conversation_id=conversation.id,
        channel=channel, title="路灯不亮", description="望江路门口的路灯坏了一周了，晚上很黑。",
        address=f"江北区望江路{i % 300}号", contact_phone=phone if with_phone else None,
        status=TicketStatus.ACCEPTED, category_code="05", subcategory_code="0503",
        unit_id=unit_id, due_at=now + timedelta(days=5), created_at=now - timedelta(days=2),
    )  # fmt: skip
    await ticket_repo.add(session, ticket, actor="citizen")
    await ticket_repo.record(session, ticket=ticket, actor="unit:bench", action="accepted")
    if i % MERGED_EVERY == 0:
        merged = await _citizen_on(session, "app", f"bench-dup-{i}", ContactKind.APP)
        report = Ticket(
            number=f"D{i:09d}", citizen_id=merged.citizen_id, conversation_id=merged.id,
            channel="app", title="路灯不亮", description="望江路的路灯不亮。",
            status=TicketStatus.MERGED, duplicate_of_id=ticket.id, unit_id=unit_id,
            created_at=now - timedelta(days=1),
        )  # fmt: skip
        await ticket_repo.add(session, report, actor="citizen")
        ticket.report_count = 2
    return ticket.number


async def _citizen_on(session: Any, channel: str, address: str, kind: ContactKind) -> Any:
    citizen = Citizen()
    session.add(citizen)
    await session.flush()
    # the address the citizen came from: proven by the channel, as the intake records it
    session.add(ContactPoint(citizen_id=citizen.id or 0, kind=kind, value=address, verified=True))
    conversation = Conversation(citizen_id=citizen.id or 0, channel=channel, address=address)
    session.add(conversation)
    return conversation


# -- 办结 and the callbacks planned --------------------------------------------------------


async def resolve_all(services: Services, numbers: list[str], concurrency: int) -> dict[str, Any]:
    """What ``POST …/resolve`` does (hotline/web/ticket_actions.py), without HTTP."""
    callbacks, outgoing = services.callbacks, services.pipeline.outgoing
    assert callbacks is not None
    planning: list[float] = []

    async def resolve(number: str) -> None:
        async with services.database.session() as session:
            ticket = await ticket_repo.by_number(session, number=number)
            _, notices = await actions.resolve(session, ticket, actor="unit:bench", reply=REPLY)
            start = time.perf_counter()
            await callbacks.schedule(session, ticket)
            planning.append(time.perf_counter() - start)
            sent = [
                await outgoing.write_to_citizen(
                    session,
                    conversation_id=notice.conversation_id,
                    text=notice.text,
                    author="unit:bench",
                    ticket_id=notice.ticket.id,
                    notice=actions.RESULT_NOTICE,
                )
                for notice in notices
            ]
        outgoing.announce(sent)

    latencies, elapsed = await in_parallel(numbers, resolve, concurrency)
    return {
        "tickets_resolved": len(numbers),
        "elapsed_s": round(elapsed, 2),
        "resolved_and_planned_per_s": round(len(numbers) / elapsed, 1),
        **percentiles(latencies, "transaction"),
        **percentiles([s * 1000 for s in planning], "of_which_planning"),
    }


def expected_items(numbers: list[str]) -> set[tuple[str, str, str]]:
    """The messages Twilio and Telegram must receive, once each."""
    items = set()
    for number in numbers:
        i = int(number[1:])
        channel, address = channel_of(i), address_of(i)
        if channel in ("telegram", "sms"):
            items |= {
                (channel, address, f"result:{number}"),
                (channel, address, f"question:{number}"),
            }
        elif channel == "phone":
            items.add(("sms", address, f"result:{number}"))  # a caller is told the result by SMS
    return items


def expectations(numbers: list[str]) -> dict[str, int]:
    by_channel = Counter(channel_of(int(n[1:])) for n in numbers)
    merged = sum(1 for n in numbers if int(n[1:]) % MERGED_EVERY == 0)
    return {
        "callbacks": len(numbers) + merged,
        "result_pushes": by_channel["telegram"] + by_channel["sms"] + by_channel["phone"],
        "questions_by_vendor": by_channel["telegram"] + by_channel["sms"] + by_channel["phone"],
    }
