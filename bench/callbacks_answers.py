"""The citizens' answers in the callbacks benchmark: who says what, by which way, and the checks.

Each asked callback gets one answer, by the way its question came: a key pressed in the call,
the rating page of the SMS link (every other SMS citizen), or a reply on the citizen's channel
through the intake. Ratings go 55 % 满意, 25 % 基本满意, 20 % 不满意, in the words citizens
use; a 不满意 comes with its reason in the same message, in a second one, spoken after the key,
or typed on the page.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from callbacks_vendors import Vendors
from sqlalchemy import func, select
from sqlmodel import col
from timing import in_parallel, percentiles

from hotline.callbacks import reports, wording
from hotline.callbacks.ratings import CONTENT
from hotline.intake.messages import InboundMessage
from hotline.services import Services
from hotline.storage.db import Database
from hotline.storage.models import (
    CallbackStatus,
    Dispatch,
    Rating,
    SatisfactionCallback,
    Ticket,
    TicketEvent,
    TicketStatus,
)
from hotline.storage.types import utcnow

#: what citizens write for each rating; the last 不满意 gives its reason in a second message
TEXTS = {
    Rating.SATISFIED: ("1", "满意", "非常满意，谢谢"),
    Rating.BASIC: ("2", "基本满意", "还行吧"),
    Rating.UNSATISFIED: ("3 路灯还是不亮", "不满意，晚上还是很黑", "不满意"),
}
KEYS = {Rating.SATISFIED: "1", Rating.BASIC: "2", Rating.UNSATISFIED: "3"}
REASON = "灯还是没修好，晚上很黑，希望再派人看看"
CONTENT_REPLY = "感谢您的评价"
UNSATISFIED_REPLY = "很抱歉没能让您满意"


@dataclass(frozen=True)
class Answer:
    callback_id: int
    handled_id: int
    #: "keypad", "link", or the channel replied on: "sms", "telegram", "app"
    path: str
    channel: str
    address: str
    rating: Rating
    #: the message written, the key pressed, or the link's token
    said: str
    #: a reason given after the rating (second message, spoken, typed on the page)
    reason: str | None = None

    @property
    def with_reason(self) -> bool:
        return self.reason is not None or self.said.startswith(("3 ", "不满意，"))

    @property
    def via(self) -> str:
        return self.path if self.path in ("keypad", "link") else f"message:{self.channel}"


def rating_for(k: int) -> Rating:
    if k % 20 < 11:
        return Rating.SATISFIED
    return Rating.BASIC if k % 20 < 16 else Rating.UNSATISFIED


async def plan_answers(database: Database, vendors: Vendors) -> list[Answer]:
    cb = SatisfactionCallback
    async with database.read() as session:
        statement = (
            select(
                col(cb.id),
                col(cb.handled_ticket_id),
                col(cb.method),
                col(cb.channel),
                col(cb.address),
                col(Ticket.number),
            )
            .join(Ticket, col(Ticket.id) == col(cb.ticket_id))
            .where(col(cb.status) == CallbackStatus.AWAITING)
            .order_by(col(cb.id))
        )
        rows = (await session.execute(statement)).all()
    plan = []
    for k, (callback_id, handled, method, channel, address, number) in enumerate(rows):
        rating = rating_for(k)
        common: dict[str, Any] = {
            "callback_id": callback_id,
            "handled_id": handled,
            "channel": channel,
            "address": address,
            "rating": rating,
        }
        unsatisfied = rating == Rating.UNSATISFIED
        if method == "call":
            reason = REASON if unsatisfied and k % 2 == 0 else None
            plan.append(Answer(**common, path="keypad", said=KEYS[rating], reason=reason))
        elif channel == "sms" and k % 2 == 0 and number in vendors.links:
            reason = REASON if unsatisfied else None
            plan.append(Answer(**common, path="link", said=vendors.links[number], reason=reason))
        else:
            said = TEXTS[rating][(k // 20) % 3]
            reason = REASON if said == "不满意" else None
            plan.append(Answer(**common, path=str(channel), said=said, reason=reason))
    return plan


async def answer_all(
    services: Services, vendors: Vendors, concurrency: int
) -> tuple[list[Answer], dict[str, Any]]:
    plan = await plan_answers(services.database, vendors)
    by_path: dict[str, list[float]] = defaultdict(list)
    wrong_replies: Counter[str] = Counter()

    async def answer(item: Answer) -> None:
        start = time.perf_counter()
        replies = await _answer(services, item)
        by_path[item.path].append((time.perf_counter() - start) * 1000)
        wanted = CONTENT_REPLY if item.rating in CONTENT else UNSATISFIED_REPLY
        if wanted not in replies[0] or (len(replies) > 1 and replies[1] != wording.REASON_NOTED):
            wrong_replies[item.path] += 1

    latencies, elapsed = await in_parallel(plan, answer, concurrency)
    result: dict[str, Any] = {
        "answers": len(plan),
        "elapsed_s": round(elapsed, 2),
        "answers_per_s": round(len(plan) / elapsed, 1),
        **percentiles(latencies, "answer"),
        "by_path": {
            path: {"n": len(values), **percentiles(values, "latency")}
            for path, values in sorted(by_path.items())
        },
        "wrong_replies": dict(wrong_replies),
    }
    return plan, result


async def _answer(services: Services, item: Answer) -> list[str]:
    """What the citizen was told: the rating's reply, then the reason's, if one was sent."""
    callbacks = services.callbacks
    assert callbacks is not None
    assert callbacks.links is not None
    if item.path == "keypad":
        if await callbacks.call_question(item.callback_id) is None:
            return ["the call had nothing to ask"]
        told = [(await callbacks.press(item.callback_id, item.said)).text]
        if item.reason:
            told.append(await callbacks.spoken_reason(item.callback_id, item.reason))
        return told
    if item.path == "link":
        claim = callbacks.links.read(item.said)
        await callbacks.link_question(claim)
        outcome = await callbacks.rate_by_link(claim, rating=item.rating, reason=item.reason)
        return [outcome.text]
    told = [await _say(services, item, item.said, "answer")]
    if item.reason:
        told.append(await _say(services, item, item.reason, "reason"))
    return told


async def _say(services: Services, item: Answer, text: str, step: str) -> str:
    message = InboundMessage(
        channel=item.channel,
        sender=item.address,
        external_id=f"{step}-{item.callback_id}",
        text=text,
        contact_phone=item.address if item.channel == "sms" else None,
    )
    result = await services.pipeline.submit(message)
    return " ".join(reply.text for reply in result.replies)


# -- checks ---------------------------------------------------------------------------------------


async def check_answers(database: Database, plan: list[Answer]) -> dict[str, Any]:
    """Each callback answered as the citizen did; each ticket closed or reopened once."""
    cb = SatisfactionCallback
    async with database.read() as session:
        answered = await session.execute(
            select(col(cb.id), col(cb.status), col(cb.rating), col(cb.answered_via), col(cb.reason))
        )
        stored: dict[int | None, Any] = {row[0]: row[1:] for row in answered}
        tickets = await session.execute(select(col(Ticket.id), col(Ticket.status)))
        statuses: dict[int | None, str] = dict(tickets.tuples().all())
        event = col(TicketEvent.ticket_id)
        reopen_lines = await session.execute(
            select(event, func.count()).where(col(TicketEvent.action) == "reopened").group_by(event)
        )
        reopens: Counter[int] = Counter(dict(reopen_lines.tuples().all()))
        count = await session.execute(select(func.count(col(Dispatch.id))))
        dispatches = int(count.scalar_one())
    reopened = {a.handled_id for a in plan if a.rating == Rating.UNSATISFIED}
    handled = {a.handled_id for a in plan}
    wrong = sum(
        1 for a in plan if stored[a.callback_id][:3] != (CallbackStatus.ANSWERED, a.rating, a.via)
    )
    checks: dict[str, Any] = {
        "answered_as_given": len(plan) - wrong,
        "wrong": wrong,
        "reasons_missing": sum(1 for a in plan if a.with_reason and not stored[a.callback_id][3]),
        "closed": sum(1 for t in handled - reopened if statuses[t] == TicketStatus.CLOSED),
        "reopened": sum(1 for t in reopened if statuses[t] == TicketStatus.DISPATCHED),
        "reopened_expected": len(reopened),
        "reopened_twice": sum(1 for n in reopens.values() if n > 1),
        "reopen_dispatches": dispatches,
        "ratings": dict(Counter(str(a.rating) for a in plan)),
    }
    checks["ok"] = (
        wrong == checks["reasons_missing"] == checks["reopened_twice"] == 0
        and checks["closed"] == len(handled - reopened)
        and checks["reopened"] == dispatches == len(reopened)
        and set(reopens) == reopened
    )
    if not checks["ok"]:
        checks["first_mismatches"] = _mismatches(plan, stored, statuses, reopened)[:5]
    return checks


def _mismatches(
    plan: list[Answer],
    stored: dict[int | None, Any],
    statuses: dict[int | None, str],
    reopened: set[int],
) -> list[dict[str, Any]]:
    """The handled tickets whose state or callbacks differ from what the citizens said."""
    found = []
    for handled in sorted({a.handled_id for a in plan}):
        answers = [a for a in plan if a.handled_id == handled]
        wanted = TicketStatus.DISPATCHED if handled in reopened else TicketStatus.CLOSED
        rows = [(a.callback_id, a.path, str(a.rating), *map(str, stored[a.callback_id][:3]))
                for a in answers]  # fmt: skip
        if statuses[handled] != wanted or any(r[3:5] != ("answered", r[2]) for r in rows):
            found.append({"ticket": handled, "status": statuses[handled], "callbacks": rows})
    return found


async def check_report(database: Database, plan: list[Answer], tickets: int) -> dict[str, Any]:
    """The closure and satisfaction report counts what happened."""
    until = utcnow()
    start = time.perf_counter()
    async with database.read() as session:
        found = await reports.report(
            session, since=until - timedelta(days=7), until=until, by="unit"
        )
    took = (time.perf_counter() - start) * 1000
    ratings = Counter(a.rating for a in plan)
    reopened = len({a.handled_id for a in plan if a.rating == Rating.UNSATISFIED})
    expected = {
        "tickets": tickets, "resolved": tickets - reopened, "reopened": reopened,
        "callbacks": len(plan), "answered": len(plan), "satisfied": ratings[Rating.SATISFIED],
        "basic": ratings[Rating.BASIC], "unsatisfied": ratings[Rating.UNSATISFIED],
        "unreached": 0, "pending": 0,
    }  # fmt: skip
    total = found.total.to_dict()
    got = {key: total[key] for key in expected}
    return {
        "report_ms": round(took, 1),
        "rows": len(found.rows),
        "total": got,
        "rates": total["rates"],
        "ok": got == expected,
        **({} if got == expected else {"expected": expected}),
    }
