"""Running the application until SIGTERM/SIGINT, then draining in-flight requests.

``web.run_app`` cancels its main task on a signal, and with Python 3.11's cancellation
bookkeeping that cuts short the wait for handlers still running. Here the signal only sets an
event; the clean-up then runs in an uncancelled task, so a request that is still uploading gets
its answer (up to ``shutdown_timeout`` seconds) before the process exits.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web

log = logging.getLogger(__name__)


async def serve(app: web.Application, *, host: str, port: int, shutdown_timeout: float) -> None:
    runner = web.AppRunner(
        app, handle_signals=False, access_log=None, shutdown_timeout=shutdown_timeout
    )
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        log.info("server.listening", extra={"host": host, "port": port})
        await stop.wait()
        log.info("server.draining", extra={"timeout_seconds": shutdown_timeout})
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        await runner.cleanup()
        log.info("server.stopped")
