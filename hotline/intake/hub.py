"""Wakes whoever waits for new outbound messages of a conversation (the WebSocket chat).

In-process only: a reply written by another server process is picked up by the waiter's
periodic poll of the database instead, so pushing stays correct with several processes.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict


class ReplyHub:
    def __init__(self) -> None:
        self._waiters: defaultdict[str, set[asyncio.Event]] = defaultdict(set)

    def notify(self, conversation_id: str) -> None:
        """Wake every waiter of ``conversation_id``."""
        for event in self._waiters.get(conversation_id, ()):
            event.set()

    async def wait(self, conversation_id: str, timeout: float) -> bool:
        """Wait until notified or ``timeout`` passes; returns whether a notification came."""
        event = asyncio.Event()
        self._waiters[conversation_id].add(event)
        try:
            await asyncio.wait_for(event.wait(), timeout)
            return True
        except TimeoutError:
            return False
        finally:
            self._waiters[conversation_id].discard(event)
            if not self._waiters[conversation_id]:
                del self._waiters[conversation_id]
