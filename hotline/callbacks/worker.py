"""Asking the questions: the callback worker beside the dispatch and push workers.

Each round it (1) gives up waiting on questions whose answer window closed (asked again later,
or unreached after the last attempt), then, inside the hours citizens may be asked, (2) leases
due callbacks (:class:`hotline.storage.leases.Lease`) and asks each on its next route:

* a **message** is written into the citizen's conversation in the same transaction that marks
  the callback as awaiting, so the push outbox delivers it (WeChat, Telegram, SMS, e-mail) or
  the app shows it; nothing is sent from here. By SMS and mail it carries a link to the rating
  page, valid while this attempt waits, when links are on: stored as ``/r/…`` with a reference
  in the message's meta, signed by the push worker as it sends (:mod:`hotline.callbacks.links`);
* a **call** is placed through the telephony provider outside any transaction, and stored as
  awaiting only while the lease is held; the keypad answer and the end of the call come back
  through the provider's webhooks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from hotline.background import BackgroundLoop
from hotline.callbacks import links as rating_links
from hotline.callbacks import plan, wording
from hotline.callbacks.answers import Answering, withdraw_question
from hotline.callbacks.links import RatingLinks
from hotline.callbacks.settings import CallbackSettings
from hotline.errors import StorageUnavailable
from hotline.intake.ticket_actions import HANDLED
from hotline.storage.db import Database
from hotline.storage.leases import Lease
from hotline.storage.models import CallbackStatus, Message, SatisfactionCallback, Ticket
from hotline.storage.repos import tickets as ticket_repo
from hotline.storage.types import utcnow

log = logging.getLogger(__name__)


class CallFailed(Exception):
    """The provider did not place the call."""


class Caller(Protocol):
    async def place(self, *, to: str, callback_id: int) -> str:
        """Start an outbound call whose answer comes back for ``callback_id``; the call's id."""
        ...

    async def close(self) -> None: ...


class CitizenWriter(Protocol):
    """The intake's way to write to a citizen (the message is pushed by its channel)."""

    async def write_to_citizen(
        self,
        session: AsyncSession,
        *,
        conversation_id: str,
        text: str,
        author: str,
        ticket_id: int | None = None,
        meta: Mapping[str, Any] | None = None,
    ) -> Message: ...

    def announce(self, messages: list[Message]) -> None: ...


@dataclass
class CallbackReport:
    asked: int = 0
    called: int = 0
    expired: int = 0
    cancelled: int = 0
    failed: int = 0
    #: callbacks leased this round
    claimed: int = 0


class _LeaseLost(Exception):
    pass


class CallbackWorker(BackgroundLoop):
    task_name = "satisfaction-callbacks"

    def __init__(
        self,
        database: Database,
        settings: CallbackSettings,
        *,
        writer: CitizenWriter,
        caller: Caller | None = None,
        answering: Answering | None = None,
        links: RatingLinks | None = None,
        name: str,
        batch_size: int = 50,
        lease_seconds: float = 60.0,
        poll_seconds: float = 5.0,
    ) -> None:
        super().__init__()
        self.database = database
        self.settings = settings
        self.writer = writer
        self.caller = caller
        self.answering = answering or Answering(settings)
        self.links = links
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        # A worker killed (or too slow) before asking leaves the attempt uncounted: the next
        # worker asks on the same route, not the next one (bench/callbacks_load.py --kill-at).
        self._lease = Lease(
            SatisfactionCallback, name, lease_seconds, pending="scheduled", count_lapsed=False
        )

    async def run_once(self, now: datetime | None = None) -> CallbackReport:
        now = now or utcnow()
        report = CallbackReport()
        await self._expire(now, report)
        if self.settings.next_window(now) != now:
            return report  # nobody is called or messaged at night
        async with self.database.session() as session:
            claimed = await self._lease.claim(session, limit=self.batch_size, now=now)
        report.claimed = len(claimed)
        held, renewed = {c.id for c in claimed if c.id is not None}, time.monotonic()
        for index, callback in enumerate(claimed):
            if time.monotonic() - renewed > self._lease.seconds / 2:
                held, renewed = await self._renew(claimed[index:]), time.monotonic()
            if callback.id not in held:
                continue  # its lease ran out before its turn: another worker has it now
            try:
                await self._ask(callback, now, report)
            except _LeaseLost:
                continue  # too slow: another worker has it now
        return report

    async def _renew(self, rest: list[SatisfactionCallback]) -> set[int]:
        """Calls are placed one after another: with a slow provider the lease on the rest of the
        batch would run out, and another worker would ask those citizens again on their next
        route while this one still calls them."""
        async with self.database.session() as session:
            return await self._lease.renew(session, [c.id for c in rest])

    async def _expire(self, now: datetime, report: CallbackReport) -> None:
        statement = (
            select(SatisfactionCallback)
            .where(SatisfactionCallback.status == CallbackStatus.AWAITING)
            .where(col(SatisfactionCallback.expires_at) <= now)
            .order_by(col(SatisfactionCallback.expires_at))
            .limit(self.batch_size)
            .with_for_update(skip_locked=True)
        )
        async with self.database.session() as session:
            for callback in (await session.execute(statement)).scalars():
                why = "电话无应答" if callback.method == plan.CALL else "消息未获回复"
                await self.answering.unanswered(session, callback, why=why, now=now)
                report.expired += 1

    async def _ask(
        self, callback: SatisfactionCallback, now: datetime, report: CallbackReport
    ) -> None:
        route = callback.routes[(callback.attempts - 1) % len(callback.routes)]
        if route["method"] == plan.CALL:
            await self._call(callback, route, now, report)
            return
        async with self.database.session() as session:
            if not await self._still_resolved(session, callback, report):
                return
            reporter = await session.get(Ticket, callback.ticket_id)
            assert reporter is not None
            conversation_id = await plan.conversation_on(
                session, reporter, route, idle_after=self.settings.answer_window
            )
            expires_at = now + self.settings.answer_window
            question = self._question(callback, reporter, route["channel"], expires_at)
            message = await self.writer.write_to_citizen(
                session,
                conversation_id=conversation_id,
                text=question.text,
                author=wording.QUESTION_AUTHOR,
                ticket_id=reporter.id,
                meta=question.meta,
            )
            await self._awaiting(session, callback, route, expires_at)
        self.writer.announce([message])
        report.asked += 1

    def _question(
        self, callback: SatisfactionCallback, reporter: Ticket, channel: str, expires_at: datetime
    ) -> rating_links.Question:
        assert callback.id is not None
        return rating_links.question(
            self.links,
            number=reporter.number,
            channel=channel,
            callback_id=callback.id,
            expires_at=expires_at,
            timezone=self.settings.timezone,
        )

    async def _call(
        self,
        callback: SatisfactionCallback,
        route: dict[str, Any],
        now: datetime,
        report: CallbackReport,
    ) -> None:
        async with self.database.session() as session:
            if not await self._still_resolved(session, callback, report):
                return
        assert callback.id is not None
        try:
            if self.caller is None:
                raise CallFailed("outbound calls are not configured")
            call_id = await self.caller.place(to=route["address"], callback_id=callback.id)
        except CallFailed as e:
            report.failed += 1
            async with self.database.session() as session:
                held = await session.get(SatisfactionCallback, callback.id, with_for_update=True)
                if held is None or held.locked_by != self._lease.holder:
                    raise _LeaseLost from e
                await self.answering.unanswered(session, held, why=f"外呼失败：{e}", now=now)
            return
        async with self.database.session() as session:
            await self._awaiting(
                session, callback, route, now + self.settings.call_window, call_id=call_id
            )
        report.called += 1

    async def _still_resolved(
        self, session: AsyncSession, callback: SatisfactionCallback, report: CallbackReport
    ) -> bool:
        """False (and the callback cancelled) when the ticket was reopened meanwhile."""
        handled = await session.get(Ticket, callback.handled_ticket_id)
        if handled is not None and handled.status in HANDLED:
            return True
        if not await self._lease.settle(session, [callback.id], status=CallbackStatus.CANCELLED):
            raise _LeaseLost
        await withdraw_question(session, callback)
        report.cancelled += 1
        return False

    async def _awaiting(
        self,
        session: AsyncSession,
        callback: SatisfactionCallback,
        route: dict[str, Any],
        expires_at: datetime,
        *,
        call_id: str | None = None,
    ) -> None:
        stored = await self._lease.settle(
            session,
            [callback.id],
            status=CallbackStatus.AWAITING,
            method=route["method"],
            channel=route["channel"],
            address=route["address"],
            expires_at=expires_at,
            call_id=call_id,
            last_error=None,
            updated_at=utcnow(),
        )
        if not stored:
            raise _LeaseLost
        reporter = await session.get(Ticket, callback.ticket_id)
        assert reporter is not None
        await ticket_repo.record(
            session,
            ticket=reporter,
            actor="system",
            action="callback_asked",
            to_value=f"{route['method']}:{route['channel']}",
            note=f"第{callback.attempts}次回访：{plan.describe([route])}",
        )

    # -- running in the background -----------------------------------------------------------

    async def _stopped(self) -> None:
        if self.caller is not None:
            await self.caller.close()

    async def _loop(self) -> None:
        while not self._stop.is_set():
            report = CallbackReport()
            try:
                report = await self.run_once()
            except StorageUnavailable as e:
                log.warning("callbacks.database_unavailable: %s", e.message)
            except Exception:  # one bad round must not end the loop; its leases run out
                log.exception("callbacks.round_failed")
            # A full batch leaves more due (the morning's backlog at first_hour): go on at once,
            # as the dispatch and push workers do, instead of one batch per poll_seconds.
            if max(report.claimed, report.expired) < self.batch_size:
                await self._pause(self.poll_seconds)
