"""TLS from the first byte in front of a server that speaks only plain TCP or STARTTLS.

pymap offers STARTTLS but not IMAPS (TLS on connect, port 993). :class:`TlsFront` is what a
city's load balancer or stunnel is: it accepts TLS connections with the certificate it is given
and relays the decrypted bytes to the plain server, so the hotline's IMAPS client is tested
against a real TLS handshake and a real IMAP server. It runs its own event loop in a thread,
so synchronous and asynchronous tests can use it alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
from pathlib import Path
from types import TracebackType

from tests.channels.mail_servers import free_port


class TlsFront:
    """``with TlsFront(target_port, (cert, key)) as front``: IMAPS on ``front.port``."""

    def __init__(self, target_port: int, tls: tuple[Path, Path]) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._context.load_cert_chain(*tls)
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="tls-front", daemon=True)

    def __enter__(self) -> TlsFront:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the TLS front did not start")
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.run(self._serve())  # cancels the relays still open and closes the loop

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._relay, "127.0.0.1", self.port, ssl=self._context)
        self._ready.set()
        async with server:
            await self._stop.wait()

    async def _relay(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        try:
            server_in, server_out = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            client_out.close()
            return
        await asyncio.gather(_copy(client_in, server_out), _copy(server_in, client_out))


async def _copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    try:
        while data := await source.read(65536):
            sink.write(data)
            await sink.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        sink.close()
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            await sink.wait_closed()
