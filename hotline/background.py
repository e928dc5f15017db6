"""One background task per worker, kept referenced and stopped cleanly.

The push worker, the callback worker and the mailbox poller each loop until told to stop;
this base holds the task (STYLE: no task without a reference), lets the round in hand finish
on :meth:`BackgroundLoop.stop`, and sleeps between rounds without delaying a stop.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib


class BackgroundLoop(abc.ABC):
    #: the asyncio task's name, for debugging
    task_name = "background"

    def __init__(self) -> None:
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._stop.clear()
        self._task = asyncio.create_task(self._loop(), name=self.task_name)

    async def stop(self) -> None:
        """Let the round in hand finish, then release what the loop used."""
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._stopped()

    @abc.abstractmethod
    async def _loop(self) -> None:
        """Run rounds until ``self._stop`` is set; a failed round must not end the loop."""

    async def _stopped(self) -> None:  # noqa: B027 (a hook: most loops have nothing to close)
        """Close clients once the loop is over; nothing by default."""

    async def _pause(self, seconds: float) -> None:
        """Sleep ``seconds``, or less when stopped meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)
