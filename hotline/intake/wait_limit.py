"""The live queue's wait limit for written channels: nobody waits for a person forever.

A citizen who asked for a person (转人工) on a written channel and was not taken by an agent
within ``intake.agent_max_wait_minutes`` (at night, nobody signed in, a busy desk) goes back to
the bot with one message saying so: they may describe the request to have a ticket filed, or
ask again later. The message is written like an agent's reply, so channels that push send it;
it is the wait limit's line in the transcript, with who, when and how long
(:func:`hotline.intake.handoff.wait_ran_out`).
Callers are not swept here: Twilio's queue lets them go (``channels.twilio``'s own limit).

The sweep reads the overdue conversations, then times each out with a conditional update: an
agent who takes one in between wins, and the sweep leaves it alone.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from hotline.background import BackgroundLoop
from hotline.errors import StorageUnavailable
from hotline.intake import handoff
from hotline.intake.outgoing import Outgoing
from hotline.storage.db import Database
from hotline.storage.types import utcnow

log = logging.getLogger(__name__)


class WaitLimitSweeper(BackgroundLoop):
    """Returns written conversations that waited longer than ``max_wait`` to the bot."""

    task_name = "live-wait-limit"

    def __init__(
        self,
        database: Database,
        writer: Outgoing,
        *,
        max_wait: timedelta,
        poll_seconds: float = 30.0,
        batch: int = 100,
    ) -> None:
        super().__init__()
        self.database = database
        self.writer = writer
        self.max_wait = max_wait
        self.poll_seconds = poll_seconds
        self.batch = batch

    async def run_once(self, now: datetime | None = None) -> list[str]:
        """One sweep; the ids of the conversations given back to the bot."""
        now = now or utcnow()
        async with self.database.read() as session:
            due = await handoff.overdue(session, asked_before=now - self.max_wait, limit=self.batch)
        if not due:
            return []
        told = []
        async with self.database.session() as session:
            for conversation in due:
                if await handoff.time_out(session, conversation.id) is None:
                    continue  # taken (or left) since it was read
                line = await self.writer.write_to_citizen(
                    session,
                    conversation_id=conversation.id,
                    text=handoff.NO_AGENT,
                    author=handoff.WAIT_LIMIT_AUTHOR,
                    meta=handoff.wait_ran_out(now - (conversation.handoff_at or now)),
                )
                told.append(line)
        self.writer.announce(told)
        if told:
            log.info("handoff.wait_limit returned=%d", len(told))
        return [m.conversation_id for m in told]

    async def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                await self.run_once()
            except StorageUnavailable as e:
                log.warning("handoff.wait_limit.database_unavailable: %s", e.message)
            except Exception:  # one bad round must not end the loop
                log.exception("handoff.wait_limit.round_failed")
            await self._pause(self.poll_seconds)
