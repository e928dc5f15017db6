"""Pushing stored messages to citizens on channels that have an API (WeChat's 客服消息).

The intake writes a ``citizen_push`` row (:func:`hotline.storage.repos.pushes.enqueue`) in the
transaction that stores an agent's reply or a resolution for such a channel. Workers lease due
rows the way the dispatch outbox does (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, ``BEGIN
IMMEDIATE`` on SQLite), push them outside any transaction, and store the outcome only while
they still hold the lease; a worker that dies leaves its rows to the next lease (WeChat has no
idempotency key, so such a row may reach the citizen twice). A refusal the channel says is
final (the citizen unfollowed) dead-letters the row at once; anything else is retried with
backoff and dead-lettered after ``max_attempts``.

WeChat delivers customer-service messages only within 48 hours of the citizen's last message,
and a resolution or a satisfaction callback usually comes later. Such a row is **held**
(:class:`WaitForCitizen`) instead of lost: the citizen's next message makes it due again
(:func:`hotline.storage.repos.pushes.release_held`), and a pusher that can (a
:class:`NoticePusher`, WeChat's template message) tells the citizen once that a message waits
for them: the worker that wins the citizen's claim
(:func:`hotline.storage.repos.pushes.claim_notice`) tells them, however many hold messages for
them at once. A message held longer than :attr:`HoldPolicy.max_hold` is out of date and expired
instead (:mod:`hotline.channels.held`).

A satisfaction question by SMS or mail is stored with ``/r/…`` where its rating link goes; the
worker signs the link's token into the text only as it hands the message to the channel
(:func:`hotline.callbacks.links.fill`), so the token is never written to the database, and a
retried send carries the same link. The letter box's phone codes go the same way
(:func:`hotline.channels.phone_codes.fill`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from sqlmodel import col, select

from hotline.background import BackgroundLoop
from hotline.callbacks import links as rating_links
from hotline.callbacks.links import RatingLinks, hide_tokens
from hotline.channels import held as held_rows
from hotline.channels import phone_codes
from hotline.channels.held import HoldPolicy
from hotline.channels.phone_codes import CodeKey
from hotline.errors import ConfigError, StorageUnavailable
from hotline.routing.worker import WorkerSettings, backoff, worker_name
from hotline.storage.db import Database
from hotline.storage.leases import Lease
from hotline.storage.models import CitizenPush, Message, PushStatus
from hotline.storage.repos import pushes
from hotline.storage.types import utcnow

log = logging.getLogger(__name__)


class PushFailed(Exception):
    """The channel did not take the message; ``final`` when retrying cannot help."""

    def __init__(self, reason: str, *, final: bool = False) -> None:
        super().__init__(reason)
        self.final = final


class WaitForCitizen(PushFailed):
    """The channel delivers only after the citizen writes again (WeChat's reply window)."""


class Pusher(Protocol):
    async def push(self, address: str, text: str) -> None:
        """Deliver ``text`` to the citizen at ``address``; raise ``PushFailed`` otherwise."""
        ...

    async def close(self) -> None: ...


@runtime_checkable
class MessagePusher(Pusher, Protocol):
    """A pusher that renders from the stored message itself (e-mail threads each reply under
    the citizen's mail); the worker calls ``push_message`` instead of ``push``."""

    async def push_message(self, message_id: int, address: str, text: str) -> None: ...


@runtime_checkable
class NoticePusher(Pusher, Protocol):
    """A pusher that can tell a citizen whose window closed that a message waits for them."""

    async def notify(self, address: str) -> bool:
        """Send the notice (WeChat: a template message); False when this installation has none
        to send; raises ``PushFailed`` when the channel refuses it."""
        ...


@dataclass(frozen=True)
class Stored:
    """What the database holds of a message to push: its text and meta, never a token."""

    text: str
    meta: Mapping[str, Any]


@dataclass
class PushReport:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    dead: int = 0
    held: int = 0
    notified: int = 0
    #: held too long: never delivered
    expired: int = 0
    #: of those, resolutions written again on another way to the citizen
    rerouted: int = 0


class PushWorker(BackgroundLoop):
    """Claims, pushes and settles ``citizen_push`` rows; ``pushers`` maps a channel to its API."""

    task_name = "citizen-push"

    def __init__(
        self,
        database: Database,
        pushers: Mapping[str, Pusher],
        settings: WorkerSettings | None = None,
        *,
        hold: HoldPolicy | None = None,
        links: RatingLinks | None = None,
        codes: CodeKey | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__()
        self.database = database
        self.pushers = dict(pushers)
        self.settings = settings or WorkerSettings()
        self.hold = hold or HoldPolicy()
        #: signs the rating links of callback questions as they are sent
        self.links = links
        #: makes the letter box's phone codes as their SMS is sent
        self.codes = codes
        self.name = name or worker_name()
        self._lease = Lease(CitizenPush, self.name, self.settings.lease_seconds)
        self._next_sweep: datetime | None = None

    @property
    def batch_size(self) -> int:
        """Rows leased at once: no more than are sent at once, so the lease covers one send."""
        return min(self.settings.batch_size, self.settings.concurrency)

    async def run_once(self) -> PushReport:
        report = PushReport()
        await self._expire(report)
        claimed = await self._claim()
        report.claimed = len(claimed)
        outcomes = await asyncio.gather(*(self._attempt(p, stored) for p, stored in claimed))
        if claimed:
            held = await self._settle(
                list(zip((p for p, _ in claimed), outcomes, strict=True)), report
            )
            await self._notify(held, report)
        if report.failed or report.dead:
            log.warning("push.failures failed=%d dead=%d", report.failed, report.dead)
        return report

    async def _expire(self, report: PushReport) -> None:
        """Every ``sweep_seconds``: end what was held too long (a resolution goes another way,
        and is pushed in this same round)."""
        now = utcnow()
        if self._next_sweep is not None and now < self._next_sweep:
            return
        self._next_sweep = now + timedelta(seconds=self.settings.sweep_seconds)
        async with self.database.session() as session:
            report.expired, report.rerouted = await held_rows.expire(
                session,
                policy=self.hold,
                channels=frozenset(self.pushers),
                now=now,
                limit=self.settings.sweep_batch,
            )

    async def _attempt(self, push: CitizenPush, stored: Stored) -> PushFailed | None:
        pusher = self.pushers.get(push.channel)
        if pusher is None:
            return PushFailed(f"no pusher for channel {push.channel}")
        try:
            text = rating_links.fill(stored.text, stored.meta, self.links)
            text = phone_codes.fill(text, stored.meta, self.codes)
            if isinstance(pusher, MessagePusher):
                await pusher.push_message(push.message_id, push.address, text)
            else:
                await pusher.push(push.address, text)
        except PushFailed as e:
            return e
        except ConfigError as e:  # retried: a restart with the setting sends it
            log.error("push.config_error push=%s: %s", push.id, e.message)
            return PushFailed(e.message)
        except Exception as e:
            # A bug in a pusher fails only this row; out of the gather it would leave the whole
            # batch leased and unsettled (the dispatch worker learnt this the hard way).
            log.exception("push.pusher_error push=%s", push.id)
            return PushFailed(f"{type(e).__name__}: {e}")
        return None

    async def _claim(self) -> list[tuple[CitizenPush, Stored]]:
        async with self.database.session() as session:
            rows = await self._lease.claim(
                session,
                limit=self.batch_size,
                where=[col(CitizenPush.channel).in_(list(self.pushers))],
            )
            if not rows:
                return []
            ids = [row.message_id for row in rows]
            found = await session.execute(
                select(Message.id, Message.text, Message.meta).where(col(Message.id).in_(ids))
            )
            stored = {id_: Stored(text, meta or {}) for id_, text, meta in found.all()}
        return [(row, stored[row.message_id]) for row in rows]

    async def _settle(
        self, outcomes: list[tuple[CitizenPush, PushFailed | None]], report: PushReport
    ) -> list[CitizenPush]:
        """Store the outcomes; returns the rows newly held."""
        now, held = utcnow(), []
        async with self.database.session() as session:
            for push, failure in outcomes:
                values: dict[str, object] = {}
                if failure is None:
                    values |= {"status": PushStatus.SENT, "sent_at": now, "last_error": None}
                elif isinstance(failure, WaitForCitizen):
                    values |= {
                        "status": PushStatus.HELD,
                        "last_error": _error(failure),
                        "held_until": self.hold.held_until(push),
                    }
                elif failure.final or push.attempts >= self.settings.max_attempts:
                    values |= {"status": PushStatus.DEAD, "last_error": _error(failure)}
                else:
                    retry_at = now + backoff(push.attempts, self.settings)
                    values |= {"next_attempt_at": retry_at, "last_error": _error(failure)}
                if not await self._lease.settle(session, [push.id], **values):
                    continue  # the lease ran out and another worker has the row
                if failure is None:
                    report.sent += 1
                elif values.get("status") == PushStatus.HELD:
                    report.held += 1
                    held.append(push)
                elif values.get("status") == PushStatus.DEAD:
                    report.dead += 1
                else:
                    report.failed += 1
        return held

    async def _notify(self, held: list[CitizenPush], report: PushReport) -> None:
        """Tell each citizen once that messages wait for them; a failed notice is only logged
        (the messages stay held and go out when the citizen writes).

        The claim commits on its own, before the notice is sent: two workers that hold messages
        for one citizen at the same moment cannot both win it, and no claim waits on a send.
        """
        for address, channel in dict.fromkeys((p.address, p.channel) for p in held):
            pusher = self.pushers.get(channel)
            if not isinstance(pusher, NoticePusher):
                continue
            async with self.database.session() as session:
                told = await pushes.claim_notice(
                    session, channel=channel, address=address, good_for=self.hold.max_hold
                )
            if not told:
                continue  # told already, by this worker or another
            try:
                report.notified += await pusher.notify(address)
            except Exception as e:
                log.warning("push.notice_failed channel=%s error=%s", channel, e)

    # -- running in the background -----------------------------------------------------------

    async def _stopped(self) -> None:
        for pusher in self.pushers.values():
            await pusher.close()

    async def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                report = await self.run_once()
            except StorageUnavailable as e:
                log.warning("push.database_unavailable: %s", e.message)
                report = PushReport()
            except Exception:  # one bad batch must not end the loop; its leases run out
                log.exception("push.batch_failed")
                report = PushReport()
            if report.claimed < self.batch_size:
                await self._pause(self.settings.poll_seconds)


def _error(failure: PushFailed) -> str:
    """What is stored of a failure: a provider that echoes the text echoes no token."""
    return hide_tokens(str(failure))[:500]
